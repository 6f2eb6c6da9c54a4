// The supervisor against every fault of the proxy, with the real firmware in XS and real brokers behind the proxy:
// the device recovers from each. Timings come from the device's own log (its clock), with generous bounds.

import type { SimDevice } from "../../hosts/sim/node/device";
import { startAedes } from "../helpers/aedes";
import type { FaultProxy } from "../helpers/fault-proxy";
import { startMosquitto } from "../helpers/mosquitto";
import { simDevices } from "../helpers/sim";
import {
  BROKERS,
  type BrokerKind,
  collect,
  command,
  connected,
  deviceConfig,
  logLines,
  mark,
  Peers,
  proxyTo,
  startTestBroker,
  type TestBroker,
  until,
} from "./harness";

const BASE = 300;
/** Scheduling slack on a loaded 2-core machine: a timer fires late, an event waits for the previous one. */
const SLACK = 400;

const devices = simDevices();
const peers = new Peers();
const proxies: FaultProxy[] = [];

afterEach(async () => {
  await peers.endAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** Device times of the connection attempts logged after `from`. */
function attempts(device: SimDevice, from = 0): number[] {
  return logLines(device, "mqtt", "connecting", from).map((l) => l.time);
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

/** Waits until the device has logged attempt number `n` (counted since its last successful connection). */
function attempt(device: SimDevice, n: number, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
  return device.waitForSerial(new RegExp(`I mqtt connecting .* attempt=${n}\\b`), timeoutMs, from);
}

describe.each(BROKERS)("%s behind the fault proxy", (kind: BrokerKind) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(kind);
  });
  afterAll(() => broker.stop());

  async function boot(name: string, extra: Record<string, string> = {}, setup?: (p: FaultProxy) => unknown) {
    const proxy = await proxyTo(broker.port, proxies);
    await setup?.(proxy);
    const device = await devices.start({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      config: deviceConfig(`${kind}-${name}`, extra),
    });
    return { device, proxy };
  }

  test("refused connects: retries spaced by the backoff, then connects once the port listens", async () => {
    const { device, proxy } = await boot("refuse", {}, (p) => p.refuse());
    await attempt(device, 4, 8000);
    expect(logLines(device, "diag", "tcp_refused").length).toBeGreaterThan(0);
    const [first, ...later] = gaps(attempts(device));
    expect(first).toBeLessThan(BASE + SLACK);
    // Decorrelated jitter: after the first retry, never sooner than the base delay.
    for (const gap of later) expect(gap).toBeGreaterThanOrEqual(BASE - 5);
    const from = mark(device);
    await proxy.accept();
    await connected(device, from, 3000 + SLACK * 2);
  });

  test.each(["close", "reset"] as const)("accept then %s: no storm, connects once the proxy forwards", async (mode) => {
    const { device, proxy } = await boot(`accept-${mode}`, {}, (p) => p.accept(mode));
    await attempt(device, 4, 8000);
    const code = mode === "close" ? "broker_closed" : "tcp_reset";
    expect(logLines(device, "diag", code).length).toBeGreaterThan(0);
    for (const gap of gaps(attempts(device)).slice(1)) expect(gap).toBeGreaterThanOrEqual(BASE - 5);
    const from = mark(device);
    await proxy.passThrough();
    await connected(device, from, 3000 + SLACK * 2);
  });

  test("a broker that accepts and drops at once (right after CONNACK): growing delays, not a storm", async () => {
    // The CONNACK (4 bytes) gets through, then the connection is closed: every connection succeeds, briefly.
    const { device, proxy } = await boot("flap", {}, (p) => p.cut(4, "down"));
    const started = Date.now();
    await device.waitForSerial(/(I mqtt connected[^]*){5}/, 10000);
    const elapsed = Date.now() - started;
    const retries = logLines(device, "mqtt", "retry");
    expect(retries.length).toBeGreaterThanOrEqual(4);
    // The growth is never reset by these short connections...
    for (const r of retries) expect(r.fields.reason).not.toMatch(/backoff reset/);
    const delays = retries.map((r) => Number(r.fields.in_ms));
    for (const d of delays.slice(1)) expect(d).toBeGreaterThanOrEqual(BASE);
    // ...so five connections take more than the base delay each; a storm would do them in a few milliseconds.
    expect(elapsed).toBeGreaterThan(4 * BASE);
    expect(Math.max(...delays.slice(2))).toBeGreaterThan(BASE * 1.5);
    const from = mark(device);
    await proxy.passThrough();
    await connected(device, from, 3000 + SLACK * 2);
  });

  test("blackhole (half-open): detected within keep alive + ping timeout, then reconnects", async () => {
    const { device, proxy } = await boot("blackhole", { keepAlive: "2" });
    await connected(device);
    const from = mark(device);
    const start = Date.now();
    proxy.blackhole();
    await device.waitForSerial(/W diag keepalive_timeout/, 2000 + 2000 + SLACK * 3, from);
    const detected = Date.now() - start;
    // Nothing was sent after CONNACK and SUBSCRIBE, so the PINGREQ is due one keep alive later; the ping timeout
    // is 2 s (its floor) for a 2 s keep alive.
    expect(detected).toBeGreaterThanOrEqual(2000);
    expect(detected).toBeLessThan(4000 + SLACK * 2);
    proxy.blackhole(false);
    await connected(device, from, 8000);
  });

  test("delay and jitter: the device stays connected, pings measure the latency, messages arrive", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/delay");
    const got = collect(peer, "f/delay");
    const { device } = await boot("delay", { keepAlive: "2", logLevel: "debug" }, (p) => p.delay(250, 200));
    await connected(device, 0, 8000);
    const [, rtt] = await device.waitForSerial(/D keepalive pong rtt=([\d.]+)/, 6000);
    expect(Number(rtt)).toBeGreaterThanOrEqual(500);
    await command(device, "pub f/delay slow-but-there 1", /pub sent/);
    await until(peer, () => got.length === 1, 5000, "the delayed message");
    expect(got).toEqual(["slow-but-there"]);
    expect(logLines(device, "mqtt", "closed")).toEqual([]);
    expect(logLines(device, "diag", "keepalive_timeout")).toEqual([]);
  });

  test("throttle: a large publish crawls through at the throttled rate without a false dead-link verdict", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/slow");
    const got = collect(peer, "f/slow");
    const { device, proxy } = await boot("throttle", { keepAlive: "2" });
    await connected(device);
    proxy.throttle(3000);
    const payload = "x".repeat(6000);
    const start = Date.now();
    await command(device, `pub f/slow ${payload} 1`, /pub sent/);
    await until(peer, () => got.length === 1, 8000, "the throttled message");
    expect(Date.now() - start).toBeGreaterThanOrEqual(1500);
    expect(got[0]).toBe(payload);
    expect(logLines(device, "diag", "keepalive_timeout")).toEqual([]);
  });

  test("cut mid-packet: the half-sent QoS 1 PUBLISH is sent again after reconnecting", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/cut", { qos: 1 });
    const got = collect(peer, "f/cut");
    const { device, proxy } = await boot("cut");
    await connected(device);
    const from = mark(device);
    const closed = proxy.waitFor("close");
    proxy.cut(10, "up");
    await command(device, `pub f/cut ${"c".repeat(100)} 1`, /pub sent/);
    await closed;
    await proxy.passThrough();
    await connected(device, from);
    await until(peer, () => got.length >= 1, 5000, "the cut message");
    expect(got[0]).toBe("c".repeat(100));
  });

  test("corrupt byte: a mangled CONNACK is a protocol error; the device recovers once the path is clean", async () => {
    const { device, proxy } = await boot("corrupt");
    await connected(device);
    const from = mark(device);
    proxy.corrupt(0, "down");
    await command(device, "reconnect", /reconnecting/);
    await device.waitForSerial(/W diag protocol_error/, 5000, from);
    await proxy.passThrough();
    await connected(device, from, 3000 + SLACK * 2);
  });

  test("broker restart behind the proxy: the first retry comes within the base delay", async () => {
    const own = kind === "aedes" ? await startAedes() : await startMosquitto();
    const proxy = await proxyTo(own.port, proxies);
    try {
      const device = await devices.start({
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        config: deviceConfig(`${kind}-restart`),
      });
      await connected(device);
      const from = mark(device);
      if ("restart" in own) await own.restart();
      else {
        // mosquitto cannot be restarted on its port by the helper: a new one takes over behind the proxy.
        const next = await startMosquitto();
        proxy.retarget({ host: "127.0.0.1", port: next.port });
        await own.stop();
        Object.assign(own, { stop: next.stop });
      }
      await connected(device, from, 5000);
      const [retry] = logLines(device, "mqtt", "retry", from);
      const [dial] = attempts(device, from);
      console.log(device.serialOutput);
      expect(Number(retry!.fields.in_ms)).toBeLessThan(BASE);
      expect(dial! - retry!.time).toBeLessThan(BASE + SLACK);
    } finally {
      await own.stop();
    }
  });

  test("takeover by a second client with the same client id: the device takes its session back", async () => {
    const { device } = await boot("takeover");
    await connected(device);
    const from = mark(device);
    const intruder = peers.open(broker.port, { clientId: `${kind}-takeover`, clean: false });
    const kicked = new Promise<void>((resolve) => intruder.once("close", () => resolve()));
    await connected(device, from, 5000);
    await kicked;
    expect(intruder.connected).toBe(false);
    const [status] = await command(device, "status", /state=\w+/);
    expect(status).toBe("state=connected");
  });
});
