// The supervisor against every fault of the proxy, with the real firmware in XS and real brokers behind the proxy:
// the device recovers from each, and the timings obey the backoff policy (generous bounds: not a benchmark).
// Faults the proxy makes on its own (refuse, close, reset, blackhole, delay, throttle) run against one broker;
// those whose outcome depends on the broker (a cut or mangled packet, a restart, a takeover) against each.

import type { SimDevice } from "../../hosts/sim/node/device";
import type { FaultProxy } from "../../tools/rigs/fault-proxy";
import { simDevices } from "../helpers/sim";
import {
  BROKERS,
  type BrokerKind,
  collect,
  command,
  connections,
  deviceConfig,
  gaps,
  logLines,
  mark,
  Peers,
  proxyTo,
  record,
  startRestartable,
  startTestBroker,
  stats,
  type TestBroker,
  until,
} from "./harness";

const BASE = 300;
const CAP = 1500;
/** Scheduling slack on a loaded 2-core machine: a timer fires late, an event waits for the previous one. */
const SLACK = 400;

const devices = simDevices();
const peers = new Peers();
const proxies: FaultProxy[] = [];

afterEach(async () => {
  await peers.endAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** The delays the device announced (`mqtt retry in_ms=...`) since `from`. */
function delays(device: SimDevice, from = 0): number[] {
  return logLines(device, "mqtt", "retry", from).map((l) => Number(l.fields.in_ms));
}

/** Waits for the device's retry line number `n` of one failure series (the backoff's attempt count). */
function retry(device: SimDevice, n: number, timeoutMs: number): Promise<RegExpExecArray> {
  return device.waitForSerial(new RegExp(`I mqtt retry .*attempt ${n};`), timeoutMs);
}

/** Resolves when the proxy has accepted its `n`th connection. */
function accepted(proxy: FaultProxy, n: number, timeoutMs: number): Promise<unknown> {
  return proxy.accepted >= n ? Promise.resolve() : proxy.waitFor("open", timeoutMs, (info) => info.id >= n);
}

function bootThrough(kind: BrokerKind, broker: () => { port: number }) {
  return async (name: string, extra: Record<string, string> = {}, setup?: (p: FaultProxy) => unknown) => {
    const proxy = await proxyTo(broker().port, proxies);
    await setup?.(proxy);
    const device = await devices.start({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      config: deviceConfig(`${kind}-${name}`, { backoffBase: String(BASE), backoffCap: String(CAP), ...extra }),
    });
    return { device, proxy };
  };
}

describe(`faults of the path (${BROKERS[0]} behind the proxy)`, () => {
  const kind = BROKERS[0]!;
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(kind);
  });
  afterAll(() => broker.stop());
  const boot = bootThrough(kind, () => broker);

  test("refused connects: the first retry within the base delay, later ones spaced, then connects", async () => {
    const { device, proxy } = await boot("refuse", {}, (p) => p.refuse());
    await retry(device, 3, 5000);
    expect(logLines(device, "diag", "tcp_refused").length).toBeGreaterThan(0);
    const [first, ...later] = delays(device);
    expect(first).toBeLessThan(BASE);
    // Decorrelated jitter: after the first retry, never sooner than the base delay, never beyond the cap.
    for (const d of later) expect(d).toBeGreaterThanOrEqual(BASE);
    for (const d of later) expect(d).toBeLessThanOrEqual(CAP);
    await proxy.accept();
    await connections(device, 1, CAP + SLACK * 2);
  });

  test.each(["close", "reset"] as const)("accept then %s: the attempts are spaced, then connects", async (mode) => {
    const { device, proxy } = await boot(`accept-${mode}`, {}, (p) => p.accept(mode));
    const opens = record(proxy, "open");
    await accepted(proxy, 3, 5000);
    expect(logLines(device, "diag", mode === "close" ? "broker_closed" : "tcp_reset").length).toBeGreaterThan(0);
    for (const gap of gaps(opens)) expect(gap).toBeGreaterThanOrEqual(BASE - 20);
    await proxy.passThrough();
    await connections(device, 1, CAP + SLACK * 2);
  });

  test("a broker that accepts and drops at once, right after CONNACK: growing delays, not a storm", async () => {
    // The CONNACK (4 bytes) gets through, then the connection closes: every attempt succeeds, for a moment.
    const { device, proxy } = await boot("flap", {}, (p) => p.cut(4, "down"));
    const opens = record(proxy, "open");
    await accepted(proxy, 5, 10000);
    const spaced = gaps(opens);
    for (const gap of spaced) expect(gap).toBeGreaterThanOrEqual(BASE - 20);
    // The growth is never reset by these short connections: the delays grow beyond the base.
    expect(Math.max(...spaced)).toBeGreaterThan(BASE * 1.5);
    for (const r of logLines(device, "mqtt", "retry")) expect(r.fields.reason).not.toMatch(/backoff reset/);
    const s = await stats(device);
    expect(s.ok).toBeGreaterThanOrEqual(4);
    expect(s.ok).toBeLessThan(8);
    await proxy.passThrough();
    await connections(device, s.ok + 1, CAP + SLACK * 2);
  });

  test("blackhole (half-open): detected within keep alive + ping timeout, then reconnects", async () => {
    const { device, proxy } = await boot("blackhole", { keepAlive: "2" });
    await connections(device, 1);
    const from = mark(device);
    const start = Date.now();
    proxy.blackhole();
    await device.waitForSerial(/W diag keepalive_timeout/, 4000 + SLACK * 3, from);
    const detected = Date.now() - start;
    // The PINGREQ is due one keep alive after the last packet sent, and the ping timeout is 2 s (its floor) here.
    expect(detected).toBeGreaterThanOrEqual(1500);
    expect(detected).toBeLessThan(4000 + SLACK * 2);
    proxy.blackhole(false);
    await connections(device, 2, 8000);
  });

  test("blackhole while the device keeps publishing QoS 1: the unanswered publishes reveal it", async () => {
    const { device, proxy } = await boot("blackhole-busy", { keepAlive: "2" });
    await connections(device, 1);
    const from = mark(device);
    const start = Date.now();
    proxy.blackhole();
    // A publish every 300 ms (the workload's pace, not a wait for an event): never quiet for a keep alive, so no
    // PINGREQ would ever be due.
    let detected = 0;
    const detection = device.waitForSerial(/W diag keepalive_timeout/, 6000 + SLACK * 3, from).then(() => {
      detected = Date.now() - start;
    });
    for (let i = 0; i < 40 && !detected; i++) {
      device.typeLine(`pub f/busy ${i} 1`);
      await Promise.race([detection, new Promise((resolve) => setTimeout(resolve, 300))]);
    }
    await detection;
    // Unanswered since the first publish: keep alive (2 s) + ping timeout (2 s).
    expect(detected).toBeLessThan(4000 + 300 + SLACK * 2);
    proxy.blackhole(false);
    await connections(device, 2, 8000);
  });

  test("delay and jitter: the device stays connected, pings measure the latency, messages arrive", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/delay");
    const got = collect(peer, "f/delay");
    const { device } = await boot("delay", { keepAlive: "1", logLevel: "debug" }, (p) => p.delay(250, 200));
    await connections(device, 1);
    const [, rtt] = await device.waitForSerial(/D keepalive pong rtt=([\d.]+)/, 6000);
    expect(Number(rtt)).toBeGreaterThanOrEqual(500);
    await command(device, "pub f/delay slow-but-there 1", /pub sent/);
    await until(peer, () => got.length === 1, 5000, "the delayed message");
    expect(got).toEqual(["slow-but-there"]);
    expect((await connections(device, 1)).failed).toBe(0);
  });

  test("throttle: a large publish crawls through without a false dead-link verdict", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/slow");
    const got = collect(peer, "f/slow");
    // The command comes over the command topic: a 3 KB line is more than the serial console takes.
    const { device, proxy } = await boot("throttle", { keepAlive: "2", remoteCommands: "pub" });
    await connections(device, 1);
    await device.waitForSerial(/ I mqtt subscribed filters=tether\/.*\/cmd /);
    proxy.throttle(2000);
    const payload = "x".repeat(3000);
    const start = Date.now();
    await peer.publishAsync(`tether/${BROKERS[0]}-throttle/cmd`, `pub f/slow ${payload} 1`, { qos: 1 });
    await until(peer, () => got.length === 1, 8000, "the throttled message");
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
    expect(got[0]).toBe(payload);
    expect((await connections(device, 1)).failed).toBe(0);
  });
});

describe.each(BROKERS)("%s: faults that involve the broker", (kind: BrokerKind) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(kind);
  });
  afterAll(() => broker.stop());
  const boot = bootThrough(kind, () => broker);

  test("cut mid-packet: the half-sent QoS 1 PUBLISH is sent again after reconnecting", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/cut", { qos: 1 });
    const got = collect(peer, "f/cut");
    const { device, proxy } = await boot("cut");
    await connections(device, 1);
    const closed = proxy.waitFor("close");
    proxy.cut(10, "up");
    await command(device, `pub f/cut ${"c".repeat(100)} 1`, /pub sent/);
    await closed;
    await proxy.passThrough();
    await connections(device, 2);
    await until(peer, () => got.length >= 1, 5000, "the cut message");
    expect(got[0]).toBe("c".repeat(100));
  });

  test("corrupt byte: a mangled CONNACK is a protocol error; the device recovers once the path is clean", async () => {
    const { device, proxy } = await boot("corrupt");
    await connections(device, 1);
    const from = mark(device);
    proxy.corrupt(0, "down");
    await command(device, "reconnect", /reconnecting/);
    await device.waitForSerial(/W diag protocol_error/, 5000, from);
    await proxy.passThrough();
    await connections(device, 2, CAP + SLACK * 2);
  });

  test("broker restart behind the proxy: the first retry comes within the base delay", async () => {
    const own = await startRestartable(kind);
    try {
      const proxy = await proxyTo(own.port, proxies);
      const device = await devices.start({
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        config: deviceConfig(`${kind}-restart`, { backoffBase: String(BASE) }),
      });
      await connections(device, 1);
      const closes = record(proxy, "close");
      const reopened = proxy.waitFor("open", 5000);
      await own.restart(proxy);
      await reopened;
      const reopenedAt = Date.now();
      expect(closes.length).toBeGreaterThan(0);
      expect(reopenedAt - closes[0]!).toBeLessThan(BASE + SLACK);
      await connections(device, 2);
    } finally {
      await own.stop();
    }
  });

  test("takeover by a second client with the same client id: the device takes its session back", async () => {
    const { device } = await boot("takeover");
    await connections(device, 1);
    const intruder = peers.open(broker.port, { clientId: `${kind}-takeover`, clean: false });
    const kicked = new Promise<void>((resolve) => intruder.once("close", () => resolve()));
    await connections(device, 2, 5000);
    await kicked;
    expect(intruder.connected).toBe(false);
  });
});
