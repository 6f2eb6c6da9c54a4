// Each fault of the proxy, proved against real brokers (aedes, and mosquitto where installed) with a real MQTT.js
// client dialling through the proxy. aedes runs in a child process: aedes 1.x is ESM-only, which jest's CommonJS
// runtime cannot load.

import { spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { next } from "../helpers/events";
import { describeMosquitto, startMosquitto } from "../helpers/mosquitto";

interface Broker {
  port: number;
  stop(): Promise<void>;
}

const BROKER_SCRIPT = `
import { Aedes } from "aedes";
import { createServer } from "node:net";
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
process.stdin.on("end", () => { server.close(); broker.close(() => process.exit(0)); });
process.stdin.resume();
`;

/** Starts aedes on a free port in a child process; it exits when its stdin closes (also if jest dies). */
async function startAedes(): Promise<Broker> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", BROKER_SCRIPT], {
    cwd: path.resolve(__dirname, "../.."),
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("aedes did not start within 10 s")), 10000);
    child.stdout.once("data", (data: Buffer) => {
      clearTimeout(timer);
      resolve(Number(data.toString().trim()));
    });
    child.once("exit", (code) => reject(new Error(`aedes exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

let broker: Broker;
let proxy: FaultProxy;
const clients: MqttClient[] = [];

function client(port: number, options: IClientOptions = {}): MqttClient {
  const c = connect({ host: "127.0.0.1", port, reconnectPeriod: 0, connectTimeout: 5000, keepalive: 30, ...options });
  c.on("error", () => {});
  clients.push(c);
  return c;
}

/** A client through the proxy, connected and subscribed to `topic`. */
async function subscriber(topic: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = client(proxy.port, options);
  await next(c, "connect");
  await c.subscribeAsync(topic);
  return c;
}

/** The same faults, proved against the broker `start` launches. */
function faultTests(start: () => Promise<Broker>): void {
  beforeAll(async () => {
    broker = await start();
  });

  afterAll(async () => {
    await broker.stop();
  });

  beforeEach(async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: broker.port });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await proxy.close();
  });

  test("pass-through: a client publishes and receives its own message; connections and bytes are counted", async () => {
    const opened = proxy.waitFor("open");
    const c = await subscriber("t/echo");
    expect((await opened).id).toBe(1);
    const message = next<string>(c, "message");
    await c.publishAsync("t/echo", "ping");
    expect(await message).toBe("t/echo");
    expect(proxy.accepted).toBe(1);
    expect(proxy.open).toBe(1);
    expect(proxy.bytesUp).toBeGreaterThan(20);
    expect(proxy.bytesDown).toBeGreaterThan(10);
    const closed = proxy.waitFor("close");
    await c.endAsync();
    expect((await closed).id).toBe(1);
    expect(proxy.open).toBe(0);
  });

  test("refuse: connects fail with ECONNREFUSED until the proxy accepts again", async () => {
    await proxy.refuse();
    const refused = client(proxy.port);
    expect(await next<NodeJS.ErrnoException>(refused, "error")).toMatchObject({ code: "ECONNREFUSED" });
    expect(proxy.accepted).toBe(0);
    await proxy.accept();
    await next(client(proxy.port), "connect");
    expect(proxy.accepted).toBe(1);
  });

  test("accept then close: the client sees the connection end before any CONNACK", async () => {
    await proxy.accept("close");
    const c = client(proxy.port);
    let connected = false;
    c.on("connect", () => {
      connected = true;
    });
    await next(c, "close");
    expect(connected).toBe(false);
    expect(proxy.accepted).toBe(1);
    expect(proxy.bytesUp).toBe(0);
  });

  test("accept then reset: the client sees ECONNRESET", async () => {
    await proxy.accept("reset");
    const closed = proxy.waitFor("close");
    const c = client(proxy.port);
    expect(await next<NodeJS.ErrnoException>(c, "error")).toMatchObject({ code: "ECONNRESET" });
    expect(await closed).toMatchObject({ id: 1, mode: "reset", up: 0, down: 0 });
  });

  test("blackhole: MQTT.js's keep-alive fires while the broker side stays open (half-open)", async () => {
    const c = await subscriber("t/bh", { keepalive: 1 });
    proxy.blackhole();
    const error = await next<Error>(c, "error", 6000);
    expect(error.message).toBe("Keepalive timeout");
    // Nothing crossed, not even the client's close: the broker still holds its side until its own keep-alive.
    expect(proxy.open).toBe(1);
    expect(proxy.dropped).toBeGreaterThan(0);
    await proxy.waitFor("close", 10000);
    expect(proxy.open).toBe(0);
  });

  test("delay and jitter: the round trip takes at least twice the delay and order is kept", async () => {
    const c = await subscriber("t/delay");
    proxy.delay(150);
    const start = Date.now();
    const echo = next(c, "message", 20000);
    await c.publishAsync("t/delay", "x");
    await echo;
    expect(Date.now() - start).toBeGreaterThanOrEqual(300);

    proxy.delay(5, 60);
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      c.on("message", (_topic, payload) => {
        received.push(payload.toString());
        if (received.length === 30) resolve();
      }),
    );
    for (let i = 0; i < 30; i++) c.publish("t/delay", String(i));
    await all;
    expect(received).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  test("throttle: 10 kB up and back at 20 kB/s takes about a second", async () => {
    const c = await subscriber("t/slow");
    proxy.throttle(20000);
    const start = Date.now();
    const echo = next<string>(c, "message", 10000);
    await c.publishAsync("t/slow", Buffer.alloc(10000, 0x61));
    await echo;
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
  });

  test("cut: exactly N more bytes of a PUBLISH reach the client, then the connection closes", async () => {
    const opened = proxy.waitFor("open");
    const c = await subscriber("t/cut");
    const link = await opened;
    const before = link.down;
    const messages: unknown[] = [];
    c.on("message", (m) => messages.push(m));
    proxy.cut(10, "down");
    const publisher = client(broker.port);
    await next(publisher, "connect");
    const closed = next(c, "close");
    await publisher.publishAsync("t/cut", Buffer.alloc(1000, 0x62));
    await closed;
    expect(link.down - before).toBe(10);
    expect(messages).toEqual([]);
  });

  test("corrupt: a flipped byte in the payload changes the message; in the CONNACK it breaks the protocol", async () => {
    // Down stream: CONNACK (4 bytes), SUBACK (5), then PUBLISH 0x30, length, topic length (2), "t": payload at 14.
    proxy.corrupt(14, "down", 0x20);
    const c = await subscriber("t");
    const message = new Promise<string>((resolve) => c.once("message", (_t, payload) => resolve(payload.toString())));
    await c.publishAsync("t", "hello");
    expect(await message).toBe("Hello");

    proxy.corrupt(0, "down");
    const broken = client(proxy.port);
    let connected = false;
    broken.on("connect", () => {
      connected = true;
    });
    const error = await next<Error>(broken, "error");
    expect(error.message).toMatch(/invalid|header|flag/i);
    expect(connected).toBe(false);
  });

  test("NAT idle timeout: a quiet connection is silently forgotten; a keep alive shorter than the timeout survives", async () => {
    proxy.natIdle(400);
    const quiet = await subscriber("t/nat", { keepalive: 1 });
    await proxy.waitFor("idleDrop", 20000);
    expect((await next<Error>(quiet, "error", 5000)).message).toBe("Keepalive timeout");

    proxy.natIdle(1500);
    const drops: number[] = [];
    proxy.on("idleDrop", (i) => drops.push(i.id));
    const busy = await subscriber("t/nat2", { keepalive: 1 });
    let pings = 0;
    // Two pings a second apart span more than the 1.5 s idle timeout.
    await new Promise<void>((resolve) =>
      busy.on("packetreceive", (p) => {
        if (p.cmd === "pingresp" && ++pings === 2) resolve();
      }),
    );
    expect(drops).toEqual([]);
    expect(busy.connected).toBe(true);
  });

  test("NAT idle timeout with a reset: both ends hear of it the moment the flow has been idle that long", async () => {
    proxy.natIdle(500, "reset");
    const c = await subscriber("t/natrst", { keepalive: 30 });
    const quietSince = Date.now();
    const error = next<NodeJS.ErrnoException>(c, "error", 3000);
    await proxy.waitFor("idleDrop", 20000);
    expect((await error).code).toBe("ECONNRESET");
    expect(Date.now() - quietSince).toBeGreaterThanOrEqual(450);
    if (proxy.open) await proxy.waitFor("close", 20000);
    expect(proxy.open).toBe(0);
  });

  test("connackCut: every connection ends that long after its CONNACK, traffic or not", async () => {
    proxy.connackCut(300);
    const c = client(proxy.port);
    let connackAt = 0;
    c.on("packetreceive", (p) => {
      if (p.cmd === "connack") connackAt = Date.now();
    });
    let cutFirst = false;
    const cut = proxy.waitFor("connackCut", 20000).then(() => {
      cutFirst = true;
    });
    const closed = next(c, "close", 20000);
    await next(c, "connect");
    // Traffic does not keep it alive.
    await c.subscribeAsync("t/cut");
    await closed;
    // Never sooner than the cut's time (a busy machine makes it later), and the cut's doing: the proxy cut before
    // the client heard the close.
    expect(Date.now() - connackAt).toBeGreaterThanOrEqual(250);
    expect(cutFirst).toBe(true);
    await cut;
    proxy.connackCut(300, "reset");
    const r = client(proxy.port);
    const reset = next<NodeJS.ErrnoException>(r, "error", 3000);
    await next(r, "connect");
    expect((await reset).code).toBe("ECONNRESET");
  });

  test("retarget: after the broker behind the proxy goes away, the client reconnects to the new one", async () => {
    const second = await start();
    try {
      const c = client(proxy.port, { reconnectPeriod: 100 });
      await next(c, "connect");
      proxy.retarget({ host: "127.0.0.1", port: second.port });
      const watcher = client(second.port);
      await next(watcher, "connect");
      await watcher.subscribeAsync("t/moved");
      const reconnected = next(c, "connect", 20000);
      proxy.resetAll();
      await reconnected;
      expect(proxy.accepted).toBe(2);
      const seen = next<string>(watcher, "message");
      await c.publishAsync("t/moved", "here");
      expect(await seen).toBe("t/moved");
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
      await second.stop();
    }
  });

  test("passThrough() clears every fault at once", async () => {
    await proxy.refuse();
    // Faults that would hold the message for minutes: it arrives only if they are gone.
    proxy.delay(600000);
    proxy.throttle(1);
    proxy.corrupt(14, "down", 0x20);
    proxy.blackhole();
    proxy.natIdle(1, "reset");
    proxy.connackCut(1);
    await proxy.passThrough();
    const c = await subscriber("t");
    const message = new Promise<string>((resolve) => c.once("message", (_t, payload) => resolve(payload.toString())));
    await c.publishAsync("t", "hello");
    expect(await message).toBe("hello");
    expect(proxy.dropped).toBe(0);
  });

  test("close() leaves nothing behind: the port refuses and no connection is open", async () => {
    const c = await subscriber("t/bye");
    const gone = next(c, "close");
    await proxy.close();
    await gone;
    expect(proxy.open).toBe(0);
    const socket = net.connect(proxy.port, "127.0.0.1");
    expect(await next<NodeJS.ErrnoException>(socket, "error")).toMatchObject({ code: "ECONNREFUSED" });
    socket.destroy();
  });
}

describe("against aedes", () => faultTests(startAedes));
describeMosquitto("against mosquitto", () => faultTests(() => startMosquitto()));
