// What a real broker refuses, met by the firmware in XS against mosquitto: nothing the device is told, stores or
// meets may hold it in a reconnect loop (issue 20). Each test reproduces a loop that main 4473f43 fell into.

import { writeFileSync } from "node:fs";
import type { FaultProxy } from "../../tools/rigs/fault-proxy";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { simDevices } from "../helpers/sim";
import { collect, command, connections, deviceConfig, mark, Peers, poll, proxyTo, stats, until } from "./harness";

const devices = simDevices();
const peers = new Peers();
afterEach(() => peers.endAll());

describeMosquitto("strings brokers refuse", () => {
  let mosquitto: Mosquitto;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(() => mosquitto.stop());

  /** Publishes `text` from the device and waits until a peer has it: the connection carries messages. */
  async function carries(device: Awaited<ReturnType<typeof devices.start>>, topic: string): Promise<void> {
    const peer = await peers.connect(mosquitto.port);
    await peer.subscribeAsync(topic, { qos: 1 });
    const received = collect(peer, topic);
    await command(device, `pub ${topic} alive 1`, /pub sent/);
    await until(peer, () => received.length === 1, 5000, `a message on ${topic}`);
  }

  test.each([
    ["a control character", "t/a\\x01b", /a control character U\+0001 at character 4/],
    ["a non-character", "t/\\uffff", /a non-character U\+FFFF at character 3/],
    ["a C1 control", "t/\\x85", /a control character U\+0085 at character 3/],
  ])(
    "a QoS 1 publish to a topic with %s is refused at the console, and the connection stays",
    async (_, topic, why) => {
      const device = await devices.start({ broker: mosquitto.url, config: deviceConfig(`rules-pub-${process.pid}`) });
      await connections(device, 1);
      const [line] = await command(device, `pub -q 1 ${topic} hello`, /^\| (pub|error).*$/m);
      expect(line).toMatch(/^\| error: bad topic /);
      expect(line).toMatch(why);
      await carries(device, `rules/pub/${process.pid}`);
      const s = await stats(device);
      expect(s.drops).toBe(0);
      expect(s.ok).toBe(1);
    },
  );

  test("a sub to a filter with a control character is refused with its reason", async () => {
    const device = await devices.start({ broker: mosquitto.url, config: deviceConfig(`rules-sub-${process.pid}`) });
    await connections(device, 1);
    const [line] = await command(device, "sub t/\\x1f/# 1", /^\| (sub|error).*$/m);
    expect(line).toMatch(/^\| error: bad topic filter .*a control character U\+001F at character 3/);
  });

  test("a stored QoS 1 message to such a topic (an older firmware's) is dropped at boot with a line", async () => {
    const storageFile = devices.storageFile();
    // A flight as Session stores it: `<id> <qos> <topic length> <topic><payload in base64>` ("hello").
    writeFileSync(storageFile, JSON.stringify({ "ses.0": "1 1 5 t/a\u0001baGVsbG8=" }));
    const from = 0;
    const device = await devices.start({
      broker: mosquitto.url,
      config: deviceConfig(`rules-stored-${process.pid}`),
      storageFile,
    });
    await device.waitForSerial(/E app storage_error name=ses\.\d+ why="topic t\/a\\x01b: a control character/);
    await connections(device, 1);
    await carries(device, `rules/stored/${process.pid}`);
    const s = await stats(device);
    expect(s.drops).toBe(0);
    expect(s.ok).toBe(1);
    expect(device.serialOutput.slice(from)).not.toMatch(/resent=1|requeued=1/);
  });

  test("a saved topicPrefix with a control character is discarded at boot with a line, and the device connects", async () => {
    const storageFile = devices.storageFile();
    writeFileSync(storageFile, JSON.stringify({ "cfg.topicPrefix": "te\u0001ther" }));
    const id = `rules-prefix-${process.pid}`;
    const device = await devices.start({ broker: mosquitto.url, config: deviceConfig(id), storageFile });
    await device.waitForSerial(
      /E app storage_error name=cfg\.topicPrefix why="topicPrefix=\\"te\\\\x01ther\\": .*U\+0001/,
    );
    await connections(device, 1);
    // The build-time prefix serves: the status topic is tether/<id>/status.
    const from = mark(device);
    await command(device, "status", /state=connected/);
    expect(device.serialOutput.slice(from)).not.toMatch(/config error/);
    expect(device.serialOutput).toMatch(new RegExp(`subscribed filters=tether/${id}/cmd`));
  });
});

describeMosquitto("MQTT 3.1.1 has no Receive Maximum", () => {
  let mosquitto: Mosquitto;
  beforeAll(async () => {
    mosquitto = await startMosquitto({ config: ["max_inflight_messages 100"] });
  });
  afterAll(() => mosquitto.stop());

  test("a burst of 100 QoS 2 messages (mosquitto's max_inflight_messages 100) arrives without a protocol error", async () => {
    const topic = `rules/burst/${process.pid}`;
    const device = await devices.start({ broker: mosquitto.url, config: deviceConfig(`rules-burst-${process.pid}`) });
    await connections(device, 1);
    await command(device, `sub ${topic} 2`, /sub sent/);
    await device.waitForSerial(new RegExp(`I mqtt subscribed filters=${topic} codes=2`));
    const peer = await peers.connect(mosquitto.port);
    await Promise.all(Array.from({ length: 100 }, (_, i) => peer.publishAsync(topic, `m${i}`, { qos: 2 })));
    const received = async () =>
      Number((await command(device, "stats", /in q0=\d+ q1=\d+ q2=(\d+)[\s\S]*heap used=\d+ peak=\d+\n/))[1]);
    await poll(async () => ((await received()) >= 100 ? true : undefined), 20000, "100 QoS 2 messages in");
    const s = await stats(device);
    expect(s.drops).toBe(0);
    expect(s.ok).toBe(1);
    expect(device.serialOutput).not.toMatch(/receive_maximum|protocol_error/);
  }, 30000);
});

describeMosquitto("maxPacketSize by meaning", () => {
  let mosquitto: Mosquitto;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(() => mosquitto.stop());

  test("config set refuses a maxPacketSize that cannot hold the device's own CONNECT, will and beacon", async () => {
    const device = await devices.start({ broker: mosquitto.url, config: deviceConfig(`rules-max-${process.pid}`) });
    await connections(device, 1);
    const [line] = await command(device, "config set maxPacketSize 64", /^\| (error: .*|maxPacketSize=\S* saved.*)\n/m);
    expect(line).toMatch(/^\| error: maxPacketSize=64: the device's own CONNECT .* need \d+ bytes[;\n]/);
    // What it names is enough.
    const needed = /need (\d+) bytes/.exec(line)![1];
    await command(device, `config set maxPacketSize ${needed}`, new RegExp(`^\\| maxPacketSize=${needed} saved`, "m"));
  });

  test("at boot, a build-time maxPacketSize too small is one config_error line, and no connection attempt", async () => {
    const device = await devices.start({
      broker: mosquitto.url,
      config: deviceConfig(`rules-max-boot-${process.pid}`, { maxPacketSize: "64" }),
    });
    const [line] = await device.waitForSerial(/E app config_error .*\n/);
    expect(line).toMatch(
      /maxPacketSize=64: the device's own CONNECT \(with its will\) and status beacon need \d+ bytes/,
    );
    const [state] = await command(device, "status", /state=.*\n/);
    expect(state).toMatch(/config error/);
    expect(device.serialOutput).not.toMatch(/mqtt connecting/);
  });
});

describeMosquitto("a PUBLISH too large for the device, trickling in (MQTT 3.1.1)", () => {
  let mosquitto: Mosquitto;
  const proxies: FaultProxy[] = [];
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await mosquitto.stop();
  });

  test("is named when its header arrives, not once all of it has passed; the connection stays up meanwhile", async () => {
    const id = `rules-trickle-${process.pid}`;
    const topic = `rules/trickle/${process.pid}`;
    const proxy = await proxyTo(mosquitto.port, proxies);
    const device = await devices.start({ broker: `mqtt://127.0.0.1:${proxy.port}`, config: deviceConfig(id) });
    await connections(device, 1);
    await command(device, `sub ${topic} 1`, /sub sent/);
    await device.waitForSerial(new RegExp(`I mqtt subscribed filters=${topic} `));
    // 2 MB at 5 KB/s: seven minutes to pass; its header is through in the first second.
    proxy.throttle(5000);
    const peer = await peers.connect(mosquitto.port);
    await peer.publishAsync(topic, Buffer.alloc(2 << 20, 0x61), { qos: 1 });
    const [line] = await device.waitForSerial(/W diag packet_too_large .*\n/);
    expect(line).toContain(
      `topic=${topic} qos=1 size=${(2 << 20) + 5 + 2 + topic.length + 2} max=16384 action=skipped`,
    );
    const [state] = await command(device, "status", /state=\S+/);
    expect(state).toBe("state=connected");
  }, 30000);
});
