// Failures below MQTT, each produced by its real cause on loopback: a closed port, a listener that never accepts, a
// reset, a name that cannot resolve, a half-open link, a broker shutting down, a NAT that forgets idle connections,
// a server that accepts and says nothing, the link going down. The device runs the real firmware in XS; each test
// asserts the serial output names the cause, and nothing else.

import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import type { Code } from "tether/diag/codes";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { describeMosquitto, freePort, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { startUnansweredListener } from "../helpers/sim";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
let mosquitto: Mosquitto;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto();
});

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await mosquitto?.stop();
});

async function proxy(): Promise<FaultProxy> {
  const started = await FaultProxy.start({ host: "127.0.0.1", port: mosquitto.port });
  proxies.push(started);
  return started;
}

const url = (port: number) => `mqtt://127.0.0.1:${port}`;

/**
 * Three idle deaths (s): a ping due 2 s after the last packet, which the NAT's reset or silence answers. Never
 * sooner; a busy machine reads them later, so no upper bound.
 */
function expectIdle(idle: string): void {
  const deaths = idle.split("/").map(Number);
  expect(deaths).toHaveLength(3);
  for (const s of deaths) expect(s).toBeGreaterThanOrEqual(2);
}

describeMosquitto("network failures", () => {
  test.concurrent("tcp_refused: nothing listens on the port; the repeated line is rate-limited", async () => {
    const port = await freePort();
    const device = await boot({ broker: url(port), clientId: uniqueId("refused") });
    const line = await device.waitForCode("tcp_refused");
    expect(line.fields).toMatchObject({ broker: `127.0.0.1:${port}`, error: "refused", detail: "ECONNREFUSED" });
    // The retry loop goes on: its identical failure lines are held back and counted once the 10 s window ends.
    const summary = await device.waitForLine(/W diag tcp_refused \.\.\. \d+ similar suppressed/, 40000);
    expect(Number(/(\d+) similar/.exec(summary)![1])).toBeGreaterThan(3);
    expect(device.failures().length).toBeLessThan(4);
    device.expectNames(["tcp_refused"]);
  });

  test.concurrent("tcp_timeout: the SYN is never answered", async () => {
    const listener = await startUnansweredListener();
    try {
      const device = await boot({ broker: url(listener.port), clientId: uniqueId("timeout"), connectTimeout: "500" });
      const line = await device.waitForCode("tcp_timeout");
      expect(line.fields).toMatchObject({ error: "timeout", broker: `127.0.0.1:${listener.port}` });
      device.expectNames(["tcp_timeout"]);
    } finally {
      await listener.close();
    }
  });

  test.concurrent("tcp_reset: the connection is reset as it opens", async () => {
    const faults = await proxy();
    await faults.accept("reset");
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("reset") });
    const line = await device.waitForCode("tcp_reset");
    expect(line.fields.error).toBe("reset");
    device.expectNames(["tcp_reset"]);
  });

  test.concurrent("dns_failed: a name under .invalid never resolves", async () => {
    const device = await boot({ broker: "mqtt://broker.tether.invalid:1883", clientId: uniqueId("dns") });
    const line = await device.waitForCode("dns_failed");
    expect(line.fields).toMatchObject({ broker: "broker.tether.invalid:1883", error: "dns", detail: "ENOTFOUND" });
    expect(line.fields.address).toBeUndefined();
    device.expectNames(["dns_failed"]);
  });

  test.concurrent("connack_timeout: a server accepts the connection and never answers the CONNECT", async () => {
    const silent: Socket[] = [];
    const server = createServer((socket) => silent.push(socket.on("error", () => {})));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const port = (server.address() as { port: number }).port;
      const device = await boot({ broker: url(port), clientId: uniqueId("connack"), connackTimeout: "700" });
      const line = await device.waitForCode("connack_timeout");
      expect(Number(line.fields.waited)).toBeGreaterThanOrEqual(700);
      device.expectNames(["connack_timeout"]);
    } finally {
      for (const socket of silent) socket.destroy();
      server.close();
    }
  });

  test.concurrent("keepalive_timeout: the link turns into a black hole while connected", async () => {
    const faults = await proxy();
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("ka"), keepAlive: "1" });
    await device.waitForLine(/ I mqtt connected /);
    faults.blackhole();
    const line = await device.waitForCode("keepalive_timeout", 20000);
    expect(Number(line.fields.waited)).toBeGreaterThanOrEqual(2000);
    expect(Number(line.fields.uptime)).toBeGreaterThan(0);
    faults.blackhole(false);
    device.expectNames(["keepalive_timeout"], ["connack_timeout"]);
  });

  test.concurrent("broker_closed: the broker shuts down (no DISCONNECT); then its port refuses", async () => {
    const own = await startMosquitto();
    const device = await boot({ broker: own.url, clientId: uniqueId("closed") });
    await device.waitForLine(/ I mqtt connected /);
    await own.stop();
    // mosquitto closes the connection; one whose last packet from the device it had not read yet (the SUBSCRIBE and
    // status sent on connecting, on a busy machine) it resets: the device names what it got.
    const line = await device.waitForCode(["broker_closed", "tcp_reset"]);
    expect(line.fields).toMatchObject({
      error: line.event === "broker_closed" ? "closed" : "reset",
      broker: `127.0.0.1:${own.port}`,
    });
    await device.waitForCode("tcp_refused");
    expect(device.codes()[0]).toBe(line.event);
    device.expectNames([line.event as Code, "tcp_refused"]);
  });

  test.concurrent("flapping: a middlebox mangles every connection a moment after the broker accepts it", async () => {
    const faults = await proxy();
    // The first byte after the 4-byte CONNACK (the SUBACK's type) turns into a PUBREL with bad flags.
    faults.corrupt(4, "down");
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("flap") });
    const line = await device.waitForCode("flapping");
    expect(Number(line.fields.short_connections)).toBeGreaterThanOrEqual(3);
    expect(device.codes()).toEqual(["protocol_error", "flapping"]);
    device.expectNames(["flapping", "protocol_error"]);
  });

  test.concurrent("flapping: a middlebox cuts every connection 300 ms after CONNACK, the session resumed each time", async () => {
    const faults = await proxy();
    faults.connackCut(300);
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("cut") });
    const line = await device.waitForCode("flapping", 40000);
    // Four alike, or six with the allowance for a late loop (late_ms=).
    expect(line.fields.evidence).toMatch(/^cut at the same uptime (\d+\/){3}(\d+\/\d+\/)?\d+ ms$/);
    // Never sooner than the cut (a busy machine reads them later: the diagnoser allows for that, late_ms=).
    for (const uptime of /([\d/]+) ms$/.exec(line.fields.evidence)![1].split("/")) {
      expect(Number(uptime)).toBeGreaterThanOrEqual(250);
    }
    expect(device.output).toMatch(/ I mqtt connected session=resumed /);
    device.expectNames(["flapping", "broker_closed"], ["reconnect_loop"]);
  });

  test.concurrent("nat_idle_timeout_suspected: a NAT resets flows idle for 2 s, below keepAliveMin, whatever the uptime", async () => {
    const faults = await proxy();
    faults.natIdle(2000, "reset");
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("natrst"), beaconInterval: "0" });
    // The traffic profile, not a wait: each connection publishes once, 0, 0.7 or 1.4 s after CONNACK, so the NAT
    // cuts it at a different uptime but always 2 s after the last packet.
    const timers: NodeJS.Timeout[] = [];
    try {
      for (let n = 1; n <= 3; n++) {
        await device.waitForLines(/ I mqtt connected /, n, 10000);
        timers.push(setTimeout(() => device.device.typeLine(`pub nat/${n} x 1`), (n - 1) * 700));
      }
      const line = await device.waitForCode("nat_idle_timeout_suspected", 40000);
      const idle = line.fields.idle_s.split("/").map(Number);
      expect(idle).toHaveLength(3);
      // About the NAT's 2 s: a busy device reads the last packet late as well as the cut, so a little less too.
      for (const s of idle) expect(s).toBeGreaterThan(1);
      const uptimes = line.fields.uptime_s.split("/").map(Number);
      expect(Math.max(...uptimes) - Math.min(...uptimes)).toBeGreaterThan(0.9);
      expect(line.fields.below).toBe("keepAliveMin");
      expect(line.fields.hint).toMatch(/keepAliveMin/);
      // The tuner cannot go below keepAliveMin: the keep alive stays.
      expect(device.output).not.toMatch(/keepalive tuned/);
      device.expectNames(["nat_idle_timeout_suspected", "tcp_reset"]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  });

  test.concurrent("nat_idle_timeout_suspected: a NAT forgets the connection after 1 s idle, keep alive is 2 s", async () => {
    const faults = await proxy();
    faults.natIdle(1000);
    const device = await boot({
      broker: url(faults.port),
      clientId: uniqueId("nat"),
      keepAlive: "2",
      keepAliveMin: "1",
      beaconInterval: "0",
      // Time runs 30 times faster than in the field (keep alive 2 s, not 60): so does what counts as stable.
      backoffStable: "3000",
    });
    const line = await device.waitForCode("nat_idle_timeout_suspected", 40000);
    expect(line.fields).toMatchObject({ keepalive: "1", configured: "2" });
    expectIdle(line.fields.idle_s);
    expect(device.output).toMatch(/ W keepalive tuned change="keep alive 2 -> 1 s/);
    device.expectNames(["nat_idle_timeout_suspected", "keepalive_timeout"]);
  });

  test.concurrent("nat_idle_timeout_suspected: a NAT forgets flows idle for 1 s, the keep alive is at keepAliveMin already", async () => {
    const faults = await proxy();
    faults.natIdle(1000);
    const device = await boot({
      broker: url(faults.port),
      clientId: uniqueId("natmin"),
      keepAlive: "2",
      keepAliveMin: "2",
      beaconInterval: "0",
    });
    const line = await device.waitForCode("nat_idle_timeout_suspected", 40000);
    expect(line.fields).toMatchObject({ keepalive: "2", configured: "2", below: "keepAliveMin" });
    expectIdle(line.fields.idle_s);
    expect(line.fields.hint).toMatch(/lower keepAliveMin or publish more often/);
    // Nothing left for the tuner to change; and these short connections are no flapping.
    expect(device.output).not.toMatch(/keepalive tuned/);
    device.expectNames(["nat_idle_timeout_suspected", "keepalive_timeout"]);
  });

  test.concurrent("link_down: the Wi-Fi drops while connected, and at boot", async () => {
    const device = await boot({ broker: mosquitto.url, clientId: uniqueId("link") });
    await device.waitForLine(/ I mqtt connected /);
    device.device.setLink(false);
    const line = await device.waitForCode("link_down");
    expect(line.fields).toMatchObject({ link: "down", state: "lost" });
    const from = device.output.length;
    device.device.setLink(true);
    await device.waitForLine(/ I mqtt connected /, 10000, from);
    device.expectNames(["link_down"]);
    expect(device.failures()).toHaveLength(1);

    const offline = await boot({ broker: mosquitto.url, clientId: uniqueId("link0") }, { linkUp: false });
    expect((await offline.waitForCode("link_down")).fields).toMatchObject({ link: "down", state: "waiting" });
    offline.device.setLink(true);
    await offline.waitForLine(/ I mqtt connected /);
    offline.expectNames(["link_down"]);
  });
});
