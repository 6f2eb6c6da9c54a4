// Session continuity across reconnects, against real brokers: messages in flight are resent with DUP into a
// persistent session, subscriptions are renewed when the broker has forgotten the session, and publishes made
// while disconnected wait in the bounded offline queue.

import type { FaultProxy } from "../../tools/rigs/fault-proxy";
import { simDevices } from "../helpers/sim";
import {
  BROKERS,
  type BrokerKind,
  collect,
  command,
  connections,
  deviceConfig,
  mark,
  Peers,
  poll,
  proxyTo,
  startRestartable,
  startTestBroker,
  stats,
  swallowed,
  type TestBroker,
  until,
  WAIT,
} from "./harness";

const devices = simDevices();
const peers = new Peers();
const proxies: FaultProxy[] = [];

afterEach(async () => {
  await peers.endAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

describe.each(BROKERS)("%s", (kind: BrokerKind) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(kind);
  });
  afterAll(() => broker.stop());

  // aedes 1.x speaks MQTT 3.1.1 only.
  test.each(kind === "aedes" ? ["3.1.1"] : ["3.1.1", "5"])(
    "MQTT %s persistent session: QoS 1 and 2 in flight are resent with DUP and arrive once",
    async (version) => {
      const topic = `s/dup/${version}`;
      const peer = await peers.connect(broker.port);
      await peer.subscribeAsync(`${topic}/#`, { qos: 2 });
      const q1 = collect(peer, `${topic}/1`);
      const q2 = collect(peer, `${topic}/2`);
      const proxy = await proxyTo(broker.port, proxies);
      const device = await devices.start({
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        config: deviceConfig(`${kind}-dup-${version}`, { mqttVersion: version, cleanSession: "0" }),
      });
      await connections(device, 1);
      await command(device, "trace on", /trace on/);
      // The PUBLISHes vanish on the way (nothing comes back, not even an error), then the connection dies.
      proxy.blackhole();
      const sent = mark(device);
      await command(device, `pub ${topic}/1 one 1`, /pub sent/);
      await command(device, `pub ${topic}/2 two 2`, /pub sent/);
      await swallowed(device, proxy, sent);
      const [, inflight] = await command(device, "status", /inflight=(\d+)/);
      expect(inflight).toBe("2");
      const from = mark(device);
      proxy.blackhole(false);
      proxy.resetAll();
      await connections(device, 2);
      await device.waitForSerial(new RegExp(`I trace out type=PUBLISH .*qos=1 dup=1 topic=${topic}/1 `), WAIT, from);
      await device.waitForSerial(new RegExp(`I trace out type=PUBLISH .*qos=2 dup=1 topic=${topic}/2 `), WAIT, from);
      await until(peer, () => q1.length >= 1 && q2.length >= 1, WAIT, "both resent messages");
      // The last PUBCOMP may still be on its way when the subscriber has the message.
      await poll(
        async () => ((await command(device, "status", /inflight=(\d+)/))[1] === "0" ? true : undefined),
        WAIT,
        "nothing in flight",
      );
      expect(q1).toEqual(["one"]);
      expect(q2).toEqual(["two"]);
    },
  );

  test("a broker restart loses the session: the device resubscribes, commands and `sub`-ed topics arrive", async () => {
    const own = await startRestartable(kind);
    try {
      const proxy = await proxyTo(own.port, proxies);
      const clientId = `${kind}-resub`;
      const device = await devices.start({
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        config: deviceConfig(clientId),
      });
      await connections(device, 1);
      await command(device, "sub s/extra 1", /sub sent id=\d+/);
      await device.waitForSerial(/I mqtt subscribed filters=s\/extra /);
      const from = mark(device);
      await own.restart(proxy);
      await connections(device, 2);
      // Both filters go out again in one SUBSCRIBE once the broker says it has no session.
      await device.waitForSerial(
        new RegExp(`I mqtt subscribed filters=tether/${clientId}/cmd,s/extra codes=1,1`),
        WAIT,
        from,
      );
      const peer = await peers.connect(own.port);
      await peer.subscribeAsync(`tether/${clientId}/reply`, { qos: 1 });
      const replies = collect(peer, `tether/${clientId}/reply`);
      await peer.publishAsync("s/extra", "still-subscribed", { qos: 1 });
      await device.waitForSerial(/I mqtt message topic=s\/extra qos=1 bytes=16/, WAIT, from);
      await peer.publishAsync(`tether/${clientId}/cmd`, "status", { qos: 1 });
      await until(peer, () => replies.length === 1, WAIT, "the reply to a command");
      expect(replies[0]).toMatch(/^state=connected /);
    } finally {
      await own.stop();
    }
  });
});

describe("offline queue", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(BROKERS[0]!);
  });
  afterAll(() => broker.stop());

  /** A device connected through a proxy, then cut off: the proxy refuses and the connection is reset. */
  async function offline(name: string, extra: Record<string, string> = {}) {
    const proxy = await proxyTo(broker.port, proxies);
    const device = await devices.start({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      config: deviceConfig(`queue-${name}`, extra),
    });
    await connections(device, 1);
    await proxy.refuse();
    proxy.resetAll();
    await device.waitForSerial(/W diag tcp_refused/, WAIT);
    return { device, proxy };
  }

  test("publishes made while disconnected go out in order after reconnecting", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("q/order/#", { qos: 2 });
    // A broker forwards a QoS 2 message only once it is released, so order holds per QoS, not across them.
    const low = collect(peer, "q/order/low");
    const high = collect(peer, "q/order/high");
    const { device, proxy } = await offline("order");
    for (const line of ["low m1 1", "high m2 2", "low m3 0", "high m4 2", "low m5 1"]) {
      await command(device, `pub q/order/${line}`, /pub queued/);
    }
    const [, depth] = await command(device, "status", /queued=(\d+)/);
    expect(depth).toBe("5");
    await proxy.accept();
    await connections(device, 2);
    await until(peer, () => low.length + high.length === 5, WAIT, "the five queued messages");
    expect(low).toEqual(["m1", "m3", "m5"]);
    expect(high).toEqual(["m2", "m4"]);
    const [, left] = await command(device, "status", /queued=(\d+)/);
    expect(left).toBe("0");
  });

  test("a backlog beyond the broker's in-flight limit (mosquitto: 20) drains without a silent drop", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("q/burst/#", { qos: 2 });
    const low = collect(peer, "q/burst/1");
    const high = collect(peer, "q/burst/2");
    const { device, proxy } = await offline("burst");
    const numbers = Array.from({ length: 25 }, (_, i) => String(i + 1));
    for (const n of numbers) {
      await command(device, `pub q/burst/2 ${n} 2`, /pub queued/);
      await command(device, `pub q/burst/1 ${n} 1`, /pub queued/);
    }
    await proxy.accept();
    await connections(device, 2);
    await until(peer, () => low.length >= 25 && high.length >= 25, WAIT, "all 50 queued messages");
    expect(low).toEqual(numbers);
    expect(high).toEqual(numbers);
  });

  test("a message in flight when the link died goes out again before those queued while offline", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("q/mixed", { qos: 1 });
    const got = collect(peer, "q/mixed");
    const proxy = await proxyTo(broker.port, proxies);
    const device = await devices.start({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      config: deviceConfig("queue-mixed"),
    });
    await connections(device, 1);
    await command(device, "trace on", /trace on/);
    proxy.blackhole();
    const sent = mark(device);
    await command(device, "pub q/mixed first 1", /pub sent/);
    await swallowed(device, proxy, sent);
    proxy.blackhole(false);
    await proxy.refuse();
    proxy.resetAll();
    await device.waitForSerial(/W diag tcp_refused/, WAIT);
    await command(device, "pub q/mixed second 1", /pub queued/);
    await proxy.accept();
    await connections(device, 2);
    await until(peer, () => got.length === 2, WAIT, "both messages");
    expect(got).toEqual(["first", "second"]);
  });

  test("a full queue drops QoS 0 (counted) and refuses QoS 1 to its caller; nothing promised is lost", async () => {
    const peer = await peers.connect(broker.port);
    await peer.subscribeAsync("q/full", { qos: 1 });
    const got = collect(peer, "q/full");
    const { device, proxy } = await offline("full", { queueCount: "3" });
    const pub = async (payload: string, qos: number, result: string) => {
      await command(device, `pub q/full ${payload} ${qos}`, new RegExp(`pub ${result}\\n`));
    };
    await pub("a0", 0, "queued");
    await pub("b1", 1, "queued");
    await pub("c1", 1, "queued");
    // Full: a QoS 0 message already queued gives way to the newcomer, each such drop counted.
    await pub("d0", 0, "queued");
    await pub("e1", 1, "queued");
    expect((await stats(device)).drops).toBe(2);
    // Only QoS 1 is left: a QoS 1 publish is refused to its caller, a QoS 0 one is dropped.
    await pub("f1", 1, "full");
    await pub("g0", 0, "dropped");
    await proxy.accept();
    await connections(device, 2);
    await until(peer, () => got.length === 3, WAIT, "the three queued QoS 1 messages");
    expect(got).toEqual(["b1", "c1", "e1"]);
  });
});
