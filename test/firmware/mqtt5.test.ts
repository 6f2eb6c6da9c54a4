// The firmware's MQTT 5 features in the XS engine against mosquitto 2.0 (which announces Topic Alias Maximum 10 and
// Receive Maximum 20, and answers a QoS 1 PUBLISH nobody subscribed to with PUBACK 0x10), with an MQTT.js 5.0 peer;
// and, from a scripted broker, what mosquitto never sends: topic aliases towards a client, PUBCOMP 0x92.

import type { MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { type Devices, devices, type Probe, uniqueId } from "../diagnostics/helpers/device";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { accept, type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { Peers, until } from "../supervisor/harness";

const boot: Devices["boot"] = devices().boot;
const peers = new Peers();
afterEach(() => peers.endAll());

interface Received {
  topic: string;
  payload: string;
  properties: Record<string, unknown>;
  at: number;
}

/** Every message `client` receives from now on, with its MQTT 5 properties and arrival time. */
function inbox(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), properties: { ...packet.properties }, at: Date.now() });
  });
  return received;
}

/** Resolves with the first message of `received` on `topic`, now or later. */
async function first(received: Received[], topic: string, timeoutMs = 20000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = received.find((m) => m.topic === topic);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`nothing on ${topic}; got ${received.map((m) => m.topic).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An MQTT 5 device that is connected (its first `mqtt connected` line is out). */
async function device(broker: string, name: string, extra: Record<string, string> = {}) {
  const clientId = uniqueId(name);
  const probe = await boot({ broker, clientId, mqttVersion: "5", keepAlive: "30", beaconInterval: "0", ...extra });
  await probe.waitForLine(/ I mqtt connected /);
  return { probe, clientId };
}

/** The trace lines, parsed, of one direction and packet type, after `from`. */
function traced(probe: Probe, direction: "in" | "out", type: string, from = 0) {
  return probe.logs(from).filter((l) => l.area === "trace" && l.event === direction && l.fields.type === type);
}

describeMosquitto("MQTT 5 against mosquitto", () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.stop());

  test("CONNECT announces Receive Maximum, Topic Alias Maximum and Maximum Packet Size from the settings", async () => {
    const { probe } = await device(broker.url, "limits", {
      receiveMaximum: "7",
      topicAliasMaximum: "4",
      maxPacketSize: "2048",
    });
    await probe.command("trace on", /trace on/);
    const from = probe.output.length;
    probe.device.typeLine("reconnect");
    await probe.waitForLine(/ I trace in type=CONNACK /, 20000, from);
    const [connect] = traced(probe, "out", "CONNECT", from);
    expect(connect?.fields).toMatchObject({ receive_max: "7", alias_max: "4", max_packet: "2048" });
    // mosquitto's own limits, as its CONNACK gives them.
    const [connack] = traced(probe, "in", "CONNACK", from);
    expect(connack?.fields).toMatchObject({ receive_max: "20", alias_max: "10" });
  });

  test("outgoing topic aliases (topicAliases=1): later messages carry 2 bytes, not the topic; the peer sees the topic", async () => {
    const { probe, clientId } = await device(broker.url, "alias", { topicAliases: "1" });
    const topic = `tele/${clientId}/sensors/temperature`;
    const peer = await peers.connect(broker.port, { protocolVersion: 5 });
    const received = inbox(peer);
    await peer.subscribeAsync(topic, { qos: 1 });
    await probe.command("trace on", /trace on/);
    const from = probe.output.length;
    for (const value of ["21.5", "21.6", "21.7"]) await probe.command(`pub -q 1 ${topic} ${value}`, /pub sent/);
    await until(peer, () => received.length >= 3, 20000, "three messages");
    const publishes = traced(probe, "out", "PUBLISH", from);
    // The status went first and has alias 1.
    expect(publishes.map((l) => [l.fields.topic, l.fields.alias])).toEqual([
      [topic, "2"],
      ["", "2"],
      ["", "2"],
    ]);
    // Measured on the wire: the topic's bytes are saved from the second message on.
    const sizes = publishes.map((l) => Number(l.fields.size));
    expect(sizes[0]! - sizes[1]!).toBe(topic.length);
    expect(received.map((m) => [m.topic, m.payload])).toEqual([
      [topic, "21.5"],
      [topic, "21.6"],
      [topic, "21.7"],
    ]);
    expect(probe.codes()).toEqual([]);
  });

  test("the console's subscription options and goodbye: No Local, a Subscription Identifier, 0x04 publishes the will", async () => {
    const { probe, clientId } = await device(broker.url, "subopts", { responseInfo: "1", problemInfo: "0" });
    await probe.command("trace on", /trace on/);
    const from = probe.output.length;
    probe.device.typeLine("reconnect");
    await probe.waitForLine(/ I trace in type=CONNACK /, 8000, from);
    expect(traced(probe, "out", "CONNECT", from)[0]?.fields).toMatchObject({ req_response: "1", req_problem: "0" });
    const peer = await peers.connect(broker.port, { protocolVersion: 5 });
    const received = inbox(peer);
    await peer.subscribeAsync(`tether/${clientId}/status`, { qos: 1 });
    const topic = `opts/${clientId}`;
    await probe.command(`sub ${topic} 1 nl id=7`, /sub sent/);
    await probe.waitForLine(/ I mqtt subscribed filters=opts\//);
    // Its own message does not come back (No Local); the peer's arrives with the subscription's identifier.
    await probe.command(`pub -q 1 ${topic} mine`, /pub sent/);
    await peer.publishAsync(topic, "theirs", { qos: 1 });
    await probe.waitForLine(/ I mqtt message topic=opts\/\S+ .*sub_ids=7/);
    expect(probe.output).toMatch(/ I mqtt message topic=opts\/\S+ qos=1 bytes=6 sub_ids=7\n/);
    expect(probe.logs().filter((l) => l.event === "message" && l.area === "mqtt")).toHaveLength(1);
    received.length = 0;
    await probe.command("disconnect will", /disconnected/);
    const will = await first(received, `tether/${clientId}/status`);
    expect(will.payload).toBe('{"online":false}');
  });

  test("a PUBACK's reason code is logged, named for a PUBACK: 0x10 No matching subscribers", async () => {
    const { probe, clientId } = await device(broker.url, "acks");
    await probe.command(`pub -q 1 nobody/${clientId} hi`, /pub sent/);
    const line = await probe.waitForLine(/ I mqtt ack packet=PUBACK id=\d+ topic=nobody/);
    expect(line).toMatch(new RegExp(`topic=nobody/${clientId} reason="0x10 No matching subscribers"`));
  });

  test("a command with a Response Topic is answered there, with its Correlation Data", async () => {
    const { clientId } = await device(broker.url, "request");
    const peer = await peers.connect(broker.port, { protocolVersion: 5 });
    const received = inbox(peer);
    const responseTopic = `responses/${clientId}`;
    await peer.subscribeAsync([responseTopic, `tether/${clientId}/reply`], { qos: 1 });
    await peer.publishAsync(`tether/${clientId}/cmd`, "status", {
      qos: 1,
      properties: { responseTopic, correlationData: Buffer.from("req-42") },
    });
    const reply = await first(received, responseTopic);
    expect(reply.payload).toMatch(/^state=connected /);
    expect(Buffer.from(reply.properties.correlationData as Uint8Array).toString()).toBe("req-42");
    expect(received.filter((m) => m.topic === `tether/${clientId}/reply`)).toEqual([]);
  });

  test("messageExpiry and willDelay: the status carries its expiry; the will comes willDelay seconds late", async () => {
    const clientId = uniqueId("will");
    const status = `tether/${clientId}/status`;
    const peer = await peers.connect(broker.port, { protocolVersion: 5 });
    const received = inbox(peer);
    await peer.subscribeAsync(status, { qos: 1 });
    const probe = await boot({
      broker: broker.url,
      clientId,
      mqttVersion: "5",
      beaconInterval: "0",
      messageExpiry: "120",
      willDelay: "2",
    });
    const online = await first(received, status);
    expect(online.payload).toMatch(/"online":true/);
    const expiry = online.properties.messageExpiryInterval as number;
    expect(expiry).toBeGreaterThan(100);
    expect(expiry).toBeLessThanOrEqual(120);
    received.length = 0;
    // Killed: no DISCONNECT, so mosquitto publishes the will, after the delay.
    const killedAt = Date.now();
    await probe.device.kill();
    const will = await first(received, status);
    expect(will.payload).toBe('{"online":false}');
    expect(will.at - killedAt).toBeGreaterThanOrEqual(1500);
    expect(will.properties.messageExpiryInterval).toBeGreaterThan(100);
  });
});

describe("MQTT 5 from a scripted broker (what mosquitto never sends)", () => {
  const brokers: ScriptedBroker[] = [];
  afterAll(() => Promise.all(brokers.map((b) => b.close())));

  test("the console's user properties reach SUBSCRIBE, UNSUBSCRIBE and DISCONNECT; connectProps the CONNECT (mosquitto shows none of them)", async () => {
    const scripted = await startScriptedBroker((packet, peer) => {
      if (packet.cmd === "connect") accept(peer);
      if (packet.cmd === "subscribe") {
        peer.send({
          cmd: "suback",
          messageId: packet.messageId,
          granted: packet.subscriptions.map((x) => x.qos),
        } as Packet);
      }
      if (packet.cmd === "unsubscribe") {
        peer.send({ cmd: "unsuback", messageId: packet.messageId, granted: [0] } as unknown as Packet);
      }
    });
    brokers.push(scripted);
    const { probe } = await device(scripted.url, "userprops", { connectProps: "fw=1.2,site=lab" });
    await probe.command("sub props/t 1 nl id=3 up=why=test", /sub sent/);
    await probe.command("unsub props/t up=why=done", /unsub sent/);
    await probe.command("disconnect will expiry=0 up=bye=now", /disconnected/);
    const seen = (cmd: string) => scripted.received.map((r) => r.packet).filter((p) => p.cmd === cmd);
    for (const deadline = Date.now() + 8000; !seen("disconnect").length && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen("connect")[0]).toMatchObject({ properties: { userProperties: { fw: "1.2", site: "lab" } } });
    expect(seen("subscribe").at(-1)).toMatchObject({
      subscriptions: [{ topic: "props/t", qos: 1, nl: true }],
      properties: { subscriptionIdentifier: 3, userProperties: { why: "test" } },
    });
    expect(seen("unsubscribe")[0]).toMatchObject({ properties: { userProperties: { why: "done" } } });
    expect(seen("disconnect")[0]).toMatchObject({
      reasonCode: 4,
      properties: { sessionExpiryInterval: 0, userProperties: { bye: "now" } },
    });
  });

  test("the broker's topic aliases, within our Topic Alias Maximum, reach the application as topics", async () => {
    const scripted = await startScriptedBroker((packet, peer) => {
      if (packet.cmd === "connect") accept(peer);
      if (packet.cmd !== "subscribe") return;
      peer.send({ cmd: "suback", messageId: packet.messageId, granted: [1] } as Packet);
      const publish = (topic: string, text: string) =>
        peer.send({
          cmd: "publish",
          topic,
          payload: Buffer.from(text),
          qos: 0,
          properties: { topicAlias: 2 },
        } as Packet);
      publish("plant/line1/speed", "12");
      publish("", "123");
    });
    brokers.push(scripted);
    const probe = await boot({ broker: scripted.url, clientId: uniqueId("alias-in"), mqttVersion: "5" });
    await probe.waitForLine(/ I mqtt message topic=plant\/line1\/speed qos=0 bytes=3/);
    expect(probe.output).toMatch(/ I mqtt message topic=plant\/line1\/speed qos=0 bytes=2\n/);
    expect(probe.codes()).toEqual([]);
  });

  test("PUBCOMP 0x92 for a PUBREL sent again after a lost PUBCOMP: delivered, said with its reason string", async () => {
    const scripted = await startScriptedBroker((packet, peer) => {
      if (packet.cmd === "connect") {
        // The second connection finds the session, so the device sends its PUBREL again.
        peer.send({ cmd: "connack", sessionPresent: peer.id > 1, reasonCode: 0 } as Packet);
      } else if (packet.cmd === "subscribe") {
        peer.send({ cmd: "suback", messageId: packet.messageId, granted: [1] } as Packet);
      } else if (packet.cmd === "publish" && packet.qos === 1) {
        peer.send({ cmd: "puback", messageId: packet.messageId } as Packet);
      } else if (packet.cmd === "publish" && packet.qos === 2) {
        peer.send({ cmd: "pubrec", messageId: packet.messageId } as Packet);
      } else if (packet.cmd === "pubrel" && peer.id === 1) {
        peer.close(); // the flow is complete here; the PUBCOMP is lost with the connection
      } else if (packet.cmd === "pubrel") {
        const properties = { reasonString: "Packet Identifier not found" };
        peer.send({ cmd: "pubcomp", messageId: packet.messageId, reasonCode: 0x92, properties } as Packet);
      }
    });
    brokers.push(scripted);
    const probe = await boot({
      broker: scripted.url,
      clientId: uniqueId("pubcomp"),
      mqttVersion: "5",
      beaconInterval: "0",
    });
    await probe.waitForLine(/ I mqtt connected /);
    await probe.command("pub -q 2 q2/topic delivered", /pub sent/);
    const line = await probe.waitForLine(/ I mqtt ack packet=PUBCOMP /);
    expect(line).toMatch(
      /topic=q2\/topic reason="0x92 Packet Identifier not found" reason_string="Packet Identifier not found"/,
    );
    expect(probe.codes()).not.toContain("publish_denied");
  });
});
