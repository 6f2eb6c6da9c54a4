// The simulator's host bridge against real parts: a test entry (fixtures/bridge.ts) runs in XS in place of the
// firmware, typed commands drive it, and it reports on serial. Peers are real Node sockets on 127.0.0.1.

import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, Server as TlsServer } from "node:tls";
import type { SimDevice } from "../../hosts/sim/node/device";
import { freePort } from "../helpers/mosquitto";
import { type DeviceStart, simDevices, startUnansweredListener } from "../helpers/sim";

const FIXTURE = "test/sim/fixtures/bridge.ts";
const devices = simDevices();
const servers: Server[] = [];
const peers: Socket[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.destroy();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.close();
      return once(server, "close");
    }),
  );
});

async function boot(options: DeviceStart = {}): Promise<SimDevice> {
  const device = await devices.start({ entry: FIXTURE, ...options });
  await device.waitForSerial(/ready on sim\n/);
  return device;
}

/** Types a command and waits for the reply it causes (searching only output written after the command). */
function run(device: SimDevice, line: string, reply: RegExp, timeoutMs = 20000): Promise<RegExpExecArray> {
  const from = device.serialOutput.length;
  device.typeLine(line);
  return device.waitForSerial(reply, timeoutMs, from);
}

const patternByte = (i: number) => (i * 7 + 3) & 255;

/** A server on a free loopback port; each connection goes to `onConnection`. */
async function listen(onConnection: (socket: Socket) => void, server: Server = createServer()): Promise<number> {
  const accept = (socket: Socket) => {
    peers.push(socket);
    // A device killed at the end of a test resets its connections; that is no failure of the peer's.
    socket.on("error", () => {});
    onConnection(socket);
  };
  server.on(server instanceof TlsServer ? "secureConnection" : "connection", accept);
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

/** Collects what a peer receives, checking it against the fixture's byte pattern. */
function receiver(socket: Socket) {
  const state = { count: 0, intact: true, ended: false };
  socket.on("data", (bytes: Buffer) => {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== patternByte(state.count + i)) state.intact = false;
    state.count += bytes.length;
  });
  socket.on("end", () => {
    state.ended = true;
  });
  return state;
}

describe("timers and clock", () => {
  test("timers fire in order of their delays, a cancelled one never fires, one armed again fires once", async () => {
    const device = await boot();
    await run(device, "timers", /timers done\n/);
    const fired = device.serialOutput.match(/fired \w+/g);
    expect(fired).toEqual(["fired 0", "fired 10", "fired 20", "fired 25", "fired 30", "fired 35"]);
  });

  test("random() is uniform in [0, 1) and differs from device to device", async () => {
    const draws = async () => {
      const [, a, b] = await run(await boot(), "random", /random ([\d.e-]+) ([\d.e-]+)/);
      return [Number(a), Number(b)];
    };
    const [first, second] = [await draws(), await draws()];
    for (const x of [...first, ...second]) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    // XS's own Math.random is never seeded on the desktop: two devices would draw the same numbers.
    expect(first).not.toEqual(second);
    expect(first[0]).not.toEqual(first[1]);
  });

  test("now() counts whole milliseconds and wallClock() knows the date", async () => {
    const device = await boot();
    const started = performance.now();
    const [, elapsed, wall] = await run(device, "clock", /elapsed (\d+) wall (\w+)/);
    const outside = performance.now() - started;
    // A 50 ms timer: at least that long, and milliseconds (not microseconds): no more than passed out here.
    expect(Number(elapsed)).toBeGreaterThanOrEqual(49);
    expect(Number(elapsed)).toBeLessThanOrEqual(Math.ceil(outside));
    expect(wall).toBe("true");
  });
});

describe("sockets", () => {
  test("bytes cross both ways intact through an echo server, connecting by name", async () => {
    let peer: ReturnType<typeof receiver> | undefined;
    const port = await listen((socket) => {
      peer = receiver(socket);
      socket.pipe(socket);
    });
    const device = await boot();
    await run(device, `connect localhost ${port}`, /connected\n/);
    expect(device.serialOutput).toMatch(/resolved 127\.0\.0\.1\nconnected\n/);
    await run(device, "send 200000", /write (true|false)\n/);
    await run(device, "expect 200000", /received 200000 intact\n/);
    expect(peer).toEqual({ count: 200000, intact: true, ended: false });
  });

  test("write reports a full buffer, then onWritable once the peer reads again", async () => {
    let peerSocket: Socket | undefined;
    const port = await listen((socket) => {
      peerSocket = socket;
      socket.pause();
    });
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /connected\n/);
    const [, flooded] = await run(device, "flood 16384", /flooded (\d+)\n/);
    const sent = Number(flooded);
    expect(device.serialOutput).not.toMatch(/writable/);
    const peer = receiver(peerSocket!);
    peerSocket!.resume();
    await device.waitForSerial(/writable\n/);
    while (peer.count < sent) await once(peerSocket!, "data");
    expect(peer).toMatchObject({ count: sent, intact: true });
  });

  test("a firmware that closes sends its last bytes, then FIN", async () => {
    let peer: ReturnType<typeof receiver> | undefined;
    let ended: Promise<unknown> = Promise.resolve();
    const port = await listen((socket) => {
      peer = receiver(socket);
      ended = once(socket, "end");
    });
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /connected\n/);
    await run(device, "send 1000", /write true\n/);
    device.typeLine("close");
    await ended;
    expect(peer).toEqual({ count: 1000, intact: true, ended: true });
  });
});

describe("failure shapes", () => {
  test("refused: nothing listens on the port", async () => {
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${await freePort()}`, /error refused ECONNREFUSED\n/);
  });

  test("timeout: the peer never answers the SYN", async () => {
    const listener = await startUnansweredListener();
    try {
      const device = await boot();
      await run(device, `connect 127.0.0.1 ${listener.port} 300`, /error timeout/);
      expect(device.serialOutput).not.toMatch(/connected/);
    } finally {
      await listener.close();
    }
  });

  test("reset: the peer resets an established connection", async () => {
    const port = await listen((socket) => socket.resetAndDestroy());
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /error reset ECONNRESET\n/);
  });

  test("closed: the peer ends the connection in order, after its last bytes arrive", async () => {
    const port = await listen((socket) => socket.end(Buffer.from([3, 10, 17])));
    const device = await boot();
    device.typeLine("expect 3");
    await run(device, `connect 127.0.0.1 ${port}`, /error closed\n/);
    expect(device.serialOutput).toMatch(/connected\nreceived 3 intact\nerror closed\n/);
  });

  test("dns: a name that does not resolve, by connect and by resolve", async () => {
    const device = await boot();
    await run(device, "connect broker.tether.invalid 1883", /error dns ENOTFOUND\n/);
    await run(device, "resolve broker.tether.invalid", /lookup dns\n/);
    await run(device, "resolve localhost", /address 127\.0\.0\.1\n/);
    expect(device.serialOutput).not.toMatch(/resolved/);
  });

  test("unreachable: connecting while the link is down", async () => {
    const device = await boot({ linkUp: false });
    await run(device, "connect 127.0.0.1 1883", /error unreachable link down\n/);
  });

  test("tls handshake: the peer does not speak TLS", async () => {
    const port = await listen((socket) => socket.end("this is not TLS\n"));
    const device = await boot();
    await run(device, `tls 127.0.0.1 ${port} - -`, /error tls handshake\n/);
  });

  const opensslTest = existsSync("/usr/bin/openssl") ? test : test.skip;
  opensslTest("tls: certificate checks map to unknown_ca and name_mismatch; a good one connects", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tether-tls-"));
    try {
      const [key, cert] = [join(folder, "key.pem"), join(folder, "cert.pem")];
      execFileSync("openssl", [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
        ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ]);
      const server = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) });
      const port = await listen((socket) => socket.pipe(socket), server);
      server.on("tlsClientError", () => {});
      const device = await boot();
      await run(device, `tls localhost ${port} - -`, /error tls unknown_ca\n/);
      await run(device, `tls 127.0.0.1 ${port} ${cert} wrong.example`, /error tls name_mismatch\n/);
      await run(device, `tls localhost ${port} ${cert} -`, /connected\n/);
      await run(device, "send 5000", /write true\n/);
      await run(device, "expect 5000", /received 5000 intact\n/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("link", () => {
  test("link changes reach the firmware, and a held connection resumes when the link returns", async () => {
    let peer: ReturnType<typeof receiver> | undefined;
    const port = await listen((socket) => {
      peer = receiver(socket);
      socket.pipe(socket);
    });
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /connected\n/);
    let from = device.serialOutput.length;
    device.setLink(false);
    await device.waitForSerial(/onLink false\n/, 20000, from);
    expect(device.linkUp).toBe(false);
    await run(device, "link", /link false\n/);
    await run(device, "send 3000", /write true\n/);
    from = device.serialOutput.length;
    device.setLink(true);
    await device.waitForSerial(/onLink true\n/, 20000, from);
    await run(device, "expect 3000", /received 3000 intact\n/);
    expect(peer).toMatchObject({ count: 3000, intact: true });
    await run(device, "link", /link true\n/);
  });
});

describe("storage, serial, heap, crashes", () => {
  test("settings persist across a restart of the device", async () => {
    const storageFile = devices.storageFile();
    const first = await boot({ storageFile });
    await run(first, "get greeting", /value null\n/);
    first.typeLine("set greeting héllo");
    first.typeLine("set other 1");
    first.typeLine("delete other");
    await run(first, "get greeting", /value "héllo"\n/);
    await first.shutdown();
    const second = await boot({ storageFile });
    await run(second, "get greeting", /value "héllo"\n/);
    await run(second, "get other", /value null\n/);
  });

  test("the device id is stable with the storage file, distinct between devices without one", async () => {
    const storageFile = devices.storageFile();
    const idOf = async (device: SimDevice) => (await run(device, "config", / id ([0-9a-f]{12})\n/))[1];
    const first = await idOf(await boot({ storageFile }));
    const again = await idOf(await boot({ storageFile }));
    const other = await idOf(await boot());
    const another = await idOf(await boot());
    expect(again).toBe(first);
    expect(new Set([first, other, another]).size).toBe(3);
    expect(await idOf(await boot({ deviceId: "0123456789ab" }))).toBe("0123456789ab");
  });

  test("the build-time config reaches the firmware; serial goes to onSerial", async () => {
    let seen = "";
    const device = await boot({
      config: { broker: "mqtt://127.0.0.1:1", clientId: "t" },
      onSerial: (t) => (seen += t),
    });
    await run(device, "config", /config \{"broker":"mqtt:\/\/127\.0\.0\.1:1","clientId":"t"\} id /);
    await run(device, "nonsense", /unknown nonsense\n/);
    expect(seen).toBe(device.serialOutput);
  });

  test("serial and link events wait until the firmware listens, in order", async () => {
    const device = await boot({ config: { listenAfter: "100" } });
    device.typeLine("link");
    device.setLink(false);
    device.typeLine("config");
    await device.waitForSerial(/listening\nlink false\nonLink false\nconfig /);
  });

  test("heap figures are non-zero and grow when the firmware keeps objects", async () => {
    const device = await boot();
    const before = JSON.parse((await run(device, "heap", /heap (.*)\n/))[1]);
    await run(device, "grow 50000", /grew 50000\n/);
    const after = JSON.parse((await run(device, "heap", /heap (.*)\n/))[1]);
    expect(before.used).toBeGreaterThan(0);
    expect(before.total).toBeGreaterThan(before.used);
    expect(after.used).toBeGreaterThan(before.used + 50000 * 16);
    expect(after.peak).toBeGreaterThanOrEqual(after.used);
  });

  test("an exception in the firmware is printed like a crash, and the device and Node carry on", async () => {
    const device = await boot();
    await run(device, "crash", /\*\*\* uncaught exception: Error: deliberate crash\n/);
    await run(device, "link", /link true\n/);
    expect(device.running).toBe(true);
  });

  test("an exception in start() at boot is printed", async () => {
    const device = await devices.start({ entry: "test/sim/fixtures/crash-at-boot.ts" });
    await device.waitForSerial(/booting\n\n\*\*\* uncaught exception: RangeError: no settings\n/);
  });
});

describe("shutdown and power loss", () => {
  test("shutdown delivers onShutdown, lets the firmware's goodbye out, then stops the engine", async () => {
    const peer: Buffer[] = [];
    let ended: Promise<unknown> = Promise.resolve();
    const port = await listen((socket) => {
      socket.on("data", (bytes: Buffer) => peer.push(bytes));
      ended = once(socket, "end");
    });
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /connected\n/);
    expect(await device.shutdown()).toEqual({ code: 0, signal: null });
    await ended;
    expect(device.serialOutput).toMatch(/shutting down\n/);
    // The worker's own word on the channel we closed is not the device's output (chaos saw it as a stray line).
    expect(device.serialOutput).not.toMatch(/Got EOF on netstring read/);
    expect([...Buffer.concat(peer)]).toEqual([0xe0, 0x00]);
  });

  test("shutdown stops an engine that is busy and takes no event, within its grace period", async () => {
    const device = await boot({ shutdownGraceMs: 300 });
    // Spinning for ever (a day): only the grace period can end it.
    await run(device, "spin 86400000", /spinning\n/);
    await device.shutdown();
    expect(device.running).toBe(false);
  });

  test("kill resets the device's connections at once, so the peer notices", async () => {
    let closed: Promise<unknown[]> = Promise.resolve([]);
    const port = await listen((socket) => {
      closed = once(socket, "error");
    });
    const device = await boot();
    await run(device, `connect 127.0.0.1 ${port}`, /connected\n/);
    expect(await device.kill()).toEqual({ code: null, signal: "SIGKILL" });
    const [error] = await closed;
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(device.serialOutput).not.toMatch(/halted/);
    await expect(device.waitForSerial(/never/, 20000)).rejects.toThrow(/the device stopped/);
  });
});
