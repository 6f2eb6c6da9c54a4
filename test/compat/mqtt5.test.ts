// The compat Client's MQTT 5 in the XS engine against mosquitto 2.0 (which assigns ids to clients that send none,
// and announces Topic Alias Maximum 10): an application without a client id keeps the one assigned, over reconnects
// and reboots, so it resumes its session; and the MQTT 5 properties it publishes with reach the subscriber.

import type { MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { simDevices } from "../helpers/sim";
import { Peers, until } from "../supervisor/harness";

const ENTRY = "test/compat/fixtures/mqtt5.ts";
const WAIT_MS = 8000;

const devices = simDevices();
const peers = new Peers();
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await peers.endAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

let run = 0;

describeMosquitto("compat Client, MQTT 5, against mosquitto", () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.stop());

  /** The application, dialling `port`; its prefix names its topics. */
  async function app(port: number, storageFile?: string, prefix = `c5/${process.pid}/${++run}`) {
    const device = await devices.start({
      entry: ENTRY,
      storageFile,
      config: { host: "127.0.0.1", port: String(port), prefix },
    });
    return { device, prefix };
  }

  test("no client id: the assigned one is kept over a reconnect and a reboot, and the session resumes", async () => {
    const proxy = await FaultProxy.start({ host: "127.0.0.1", port: broker.port });
    proxies.push(proxy);
    const storageFile = devices.storageFile();
    const connected = / I mqtt connected broker=\S+ session=(\w+) .*client_id=(auto-[0-9A-F-]+)/;
    const { device, prefix } = await app(proxy.port, storageFile);
    const [, session, id] = await device.waitForSerial(connected, WAIT_MS);
    expect(session).toBe("new");

    // The link dies: the next CONNECT names the session the broker assigned, and finds it.
    const from = device.serialOutput.length;
    proxy.resetAll();
    const again = await device.waitForSerial(connected, WAIT_MS, from);
    expect([again[1], again[2]]).toEqual(["resumed", id]);
    await device.waitForSerial(/ready 2\n/, WAIT_MS, from);

    // A reboot: the id comes from the host's storage.
    await device.kill();
    const rebooted = await app(broker.port, storageFile, prefix);
    const third = await rebooted.device.waitForSerial(connected, WAIT_MS);
    expect([third[1], third[2]]).toEqual(["resumed", id]);
    // mosquitto saw one session under that id, never an empty id again.
    expect(broker.log().split(` as ${id} `).length - 1).toBe(3);
  });

  test("a topic alias above the broker's maximum is left out with a warning, not a DISCONNECT loop; request/response and user properties reach the subscriber", async () => {
    const peer: MqttClient = await peers.connect(broker.port, { protocolVersion: 5 });
    const prefix = `c5/${process.pid}/${++run}`;
    const received: { topic: string; payload: string; properties: Record<string, unknown> }[] = [];
    peer.on("message", (topic, payload, packet) => {
      received.push({ topic, payload: payload.toString(), properties: { ...packet.properties } });
    });
    await peer.subscribeAsync([`${prefix}/out/#`, `${prefix}/ready`], { qos: 1 });
    const { device } = await app(broker.port, undefined, prefix);
    await until(peer, () => received.length === 1, WAIT_MS, "the application's ready message");
    received.length = 0;
    const command = (body: object) => peer.publishAsync(`${prefix}/cmd`, JSON.stringify(body), { qos: 1 });
    await command({
      topic: `${prefix}/out/request`,
      text: "21.5",
      properties: {
        topicAlias: 11,
        responseTopic: `${prefix}/out/response`,
        correlation: "req-7",
        userProperties: [["unit", "C"]],
      },
    });
    await command({ topic: `${prefix}/out/after`, text: "still connected", properties: { topicAlias: 10 } });
    await until(peer, () => received.length >= 2, WAIT_MS, "both messages");
    expect(received[0]).toMatchObject({
      topic: `${prefix}/out/request`,
      payload: "21.5",
      properties: { responseTopic: `${prefix}/out/response`, userProperties: { unit: "C" } },
    });
    expect(Buffer.from(received[0]!.properties.correlationData as Uint8Array).toString()).toBe("req-7");
    // Within the maximum, the caller's alias is used: mosquitto maps it back to the topic.
    expect(received[1]).toMatchObject({ topic: `${prefix}/out/after`, payload: "still connected" });
    expect(device.serialOutput).toMatch(
      / W mqtt warning message="topic alias 11 above the broker's Topic Alias Maximum 10: sent without it"/,
    );
    expect(device.serialOutput).not.toMatch(/ready 2|diag /);
  });
});

describe("compat Client, MQTT 5, against a scripted broker", () => {
  let scripted: ScriptedBroker | undefined;
  afterEach(() => scripted?.close());

  test("an assigned id the broker refuses later (0x85) is given back: the next CONNECT asks for a new one", async () => {
    let assigned = 0;
    scripted = await startScriptedBroker((packet, peer) => {
      if (packet.cmd !== "connect") return;
      if (packet.clientId === "") {
        const properties = { assignedClientIdentifier: `given-${++assigned}` };
        peer.send({ cmd: "connack", sessionPresent: false, reasonCode: 0, properties } as Packet);
        // The first connection drops at once: the device comes back with the id it was given.
        if (assigned === 1) peer.close();
      } else {
        const properties = { reasonString: "unknown client identifier" };
        peer.send({ cmd: "connack", sessionPresent: false, reasonCode: 0x85, properties } as Packet);
      }
    });
    const storageFile = devices.storageFile();
    const device = await devices.start({
      entry: ENTRY,
      storageFile,
      config: { host: "127.0.0.1", port: String(scripted.port), prefix: `c5/${process.pid}/${++run}` },
    });
    await device.waitForSerial(/ I mqtt connected .*client_id=given-2\b/, WAIT_MS);
    const ids = scripted.received
      .filter((r) => r.packet.cmd === "connect")
      .map((r) => (r.packet as { clientId: string }).clientId);
    expect(ids).toEqual(["", "given-1", ""]);
    expect(device.serialOutput).toMatch(/ diag client_id_rejected .*reason="0x85 Client Identifier not valid"/);
  });
});
