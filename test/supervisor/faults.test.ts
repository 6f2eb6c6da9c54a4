// The supervisor against every fault of the proxy, with the real firmware in XS and real brokers behind the proxy:
// the device recovers from each, and the timings obey the backoff policy (as the device's log states its decisions;
// waits end on events, so a busy machine only makes them longer).
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
  WAIT,
} from "./harness";

const BASE = 300;
const CAP = 1500;
/** Scheduling slack on a loaded 2-core machine: a timer fires late, an event waits for the previous one. */

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
function retry(device: SimDevice, n: number, timeoutMs = WAIT): Promise<RegExpExecArray> {
  return device.waitForSerial(new RegExp(`I mqtt retry .*attempt ${n};`), timeoutMs);
}

/** Resolves when the proxy has accepted its `n`th connection. */
function accepted(proxy: FaultProxy, n: number, timeoutMs = WAIT): Promise<unknown> {
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
    await retry(device, 3);
    expect(logLines(device, "diag", "tcp_refused").length).toBeGreaterThan(0);
    const [first, ...later] = delays(device);
    expect(first).toBeLessThan(BASE);
    // Decorrelated jitter: after the first retry, never sooner than the base delay, never beyond the cap.
    for (const d of later) expect(d).toBeGreaterThanOrEqual(BASE);
    for (const d of later) expect(d).toBeLessThanOrEqual(CAP);
    await proxy.accept();
    await connections(device, 1);
  });

  test.each(["close", "reset"] as const)("accept then %s: the attempts are spaced, then connects", async (mode) => {
    const { device, proxy } = await boot(`accept-${mode}`, {}, (p) => p.accept(mode));
    const opens = record(proxy, "open");
    await accepted(proxy, 3);
    expect(logLines(device, "diag", mode === "close" ? "broker_closed" : "tcp_reset").length).toBeGreaterThan(0);
    for (const gap of gaps(opens)) expect(gap).toBeGreaterThanOrEqual(BASE - 20);
    await proxy.passThrough();
    await connections(device, 1);
  });

  test("a broker that accepts and drops at once, right after CONNACK: growing delays, not a storm", async () => {
    // The CONNACK (4 bytes) gets through, then the connection closes: every attempt succeeds, for a moment.
    const { device, proxy } = await boot("flap", {}, (p) => p.cut(4, "down"));
    const opens = record(proxy, "open");
    await accepted(proxy, 5);
    const spaced = gaps(opens);
    for (const gap of spaced) expect(gap).toBeGreaterThanOrEqual(BASE - 20);
    // The growth is never reset by these short connections: the delays grow beyond the base.
    expect(Math.max(...spaced)).toBeGreaterThan(BASE * 1.5);
    for (const r of logLines(device, "mqtt", "retry")) expect(r.fields.reason).not.toMatch(/backoff reset/);
    const s = await stats(device);
    expect(s.ok).toBeGreaterThanOrEqual(4);
    expect(s.ok).toBeLessThan(8);
    await proxy.passThrough();
    await connections(device, s.ok + 1);
  });

  test("blackhole (half-open): detected by the unanswered ping, then reconnects", async () => {
    const { device, proxy } = await boot("blackhole", { keepAlive: "2" });
    await connections(device, 1);
    const from = mark(device);
    const start = Date.now();
    proxy.blackhole();
    await device.waitForSerial(/W diag keepalive_timeout/, WAIT, from);
    // The PINGREQ is due one keep alive after the last packet sent, and the ping timeout is 2 s (its floor) here:
    // never sooner (a slow machine only makes it later). When it comes is the keep alive's arithmetic, proved on a
    // fake clock (test/client/connection.test.ts); here, that the verdict is the ping's, and the first failure.
    expect(Date.now() - start).toBeGreaterThanOrEqual(1500);
    const [line] = logLines(device, "diag", "keepalive_timeout", from);
    expect(line!.fields.waited).toBe("2000");
    expect(device.serialOutput.slice(from)).not.toMatch(/ [EW] diag (?!keepalive_timeout)/);
    proxy.blackhole(false);
    await connections(device, 2);
  });

  test("blackhole while the device keeps publishing QoS 1: the unanswered publishes reveal it", async () => {
    const { device, proxy } = await boot("blackhole-busy", { keepAlive: "2" });
    await connections(device, 1);
    const from = mark(device);
    proxy.blackhole();
    // A publish every 300 ms (the workload's pace, not a wait for an event): never quiet for a keep alive, so no
    // PINGREQ would ever be due.
    let detected = false;
    const detection = device.waitForSerial(/W diag keepalive_timeout/, WAIT, from).then(() => {
      detected = true;
    });
    let published = 0;
    for (; published < 40 && !detected; published++) {
      device.typeLine(`pub f/busy ${published} 1`);
      await Promise.race([detection, new Promise((resolve) => setTimeout(resolve, 300))]);
    }
    await detection;
    // Named while the publishes still flowed: unanswered since the first one, keep alive (2 s) + ping timeout (2 s)
    // of the device's time, some 14 publishes; a device that waited for quiet would name it only after the 40th.
    // The device's clock runs with the test's, so a busy machine stretches both.
    expect(published).toBeLessThan(40);
    proxy.blackhole(false);
    await connections(device, 2);
  });

  test("delay and jitter: the device stays connected, pings measure the latency, messages arrive", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("f/delay");
    const got = collect(peer, "f/delay");
    const { device } = await boot("delay", { keepAlive: "1", logLevel: "debug" }, (p) => p.delay(250, 200));
    await connections(device, 1);
    const [, rtt] = await device.waitForSerial(/D keepalive pong rtt=([\d.]+)/, WAIT);
    expect(Number(rtt)).toBeGreaterThanOrEqual(500);
    await command(device, "pub f/delay slow-but-there 1", /pub sent/);
    await until(peer, () => got.length === 1, WAIT, "the delayed message");
    expect(got).toEqual(["slow-but-there"]);
    expect(await connections(device, 1)).toMatchObject({ failed: 0, lost: 0 });
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
    await until(peer, () => got.length === 1, WAIT, "the throttled message");
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
    expect(got[0]).toBe(payload);
    expect(await connections(device, 1)).toMatchObject({ failed: 0, lost: 0 });
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
    await until(peer, () => got.length >= 1, WAIT, "the cut message");
    expect(got[0]).toBe("c".repeat(100));
  });

  test("corrupt byte: a mangled CONNACK is a protocol error; the device recovers once the path is clean", async () => {
    const { device, proxy } = await boot("corrupt");
    await connections(device, 1);
    const from = mark(device);
    proxy.corrupt(0, "down");
    await command(device, "reconnect", /reconnecting/);
    await device.waitForSerial(/W diag protocol_error/, WAIT, from);
    await proxy.passThrough();
    await connections(device, 2);
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
      const from = mark(device);
      const reopened = proxy.waitFor("open", WAIT);
      await own.restart(proxy);
      await reopened;
      // The device's own decision: its first retry waits less than the base delay. (When the dial comes is its
      // timer's business: the host's clock, not the product, and a busy machine delays it.)
      const [first] = logLines(device, "mqtt", "retry", from);
      expect(Number(first!.fields.in_ms)).toBeLessThan(BASE);
      expect(first!.fields.reason).toMatch(/attempt 1;/);
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
    await connections(device, 2);
    await kicked;
    expect(intruder.connected).toBe(false);
  });
});
