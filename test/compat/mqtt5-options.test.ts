// The drop-in's MQTT 5 options in the XS engine (test/compat/fixtures/mqtt5-options.ts). Against mosquitto 2.0,
// for what it implements: No Local, Retain As Published, Retain Handling and Subscription Identifiers as it applies
// them, and the DISCONNECT that asks for the will (0x04) and ends the session on the way out (Session Expiry 0).
// Against a scripted broker, for what mosquitto cannot show or does not do: the User Properties of CONNECT,
// SUBSCRIBE, UNSUBSCRIBE and DISCONNECT and the Request Response/Problem Information on the wire (mosquitto drops
// them unseen), Response Information in CONNACK (mosquitto never sends one), and enhanced authentication with
// re-authentication (mosquitto 2.0 has it only through a plugin; aedes speaks 3.1.1 alone).

import { connect, type MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { simDevices } from "../helpers/sim";
import { Peers, until } from "../supervisor/harness";

const ENTRY = "test/compat/fixtures/mqtt5-options.ts";
const WAIT_MS = 8000;

const devices = simDevices();
const peers = new Peers();
afterEach(() => peers.endAll());

let run = 0;

/** Resolves once `done()` holds, looked at every 10 ms; rejects after WAIT_MS. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  for (const start = Date.now(); !done(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - start > WAIT_MS) throw new Error(`no ${what} within ${WAIT_MS} ms`);
  }
}

describeMosquitto("compat Client, MQTT 5 options, against mosquitto", () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.stop());

  /** The application and a peer that sees its acks, its will, and sends it commands. */
  async function setup(config: Record<string, string> = {}) {
    const prefix = `o5/${process.pid}/${++run}`;
    const peer: MqttClient = await peers.connect(broker.port, { protocolVersion: 5 });
    const acks: string[] = [];
    const wills: string[] = [];
    peer.on("message", (topic, payload) => {
      if (topic === `${prefix}/ack`) acks.push(payload.toString());
      if (topic === `${prefix}/will`) wills.push(payload.toString());
    });
    await peer.subscribeAsync([`${prefix}/ack`, `${prefix}/will`], { qos: 1 });
    const device = await devices.start({
      entry: ENTRY,
      config: { host: "127.0.0.1", port: String(broker.port), prefix, ...config },
    });
    await until(peer, () => acks.includes("ready"), WAIT_MS, "the application's ready");
    /** Sends a command and waits for the application's ack, which follows the command's packets. */
    const command = async (body: object) => {
      const before = acks.length;
      await peer.publishAsync(`${prefix}/cmd`, JSON.stringify(body), { qos: 1 });
      await until(peer, () => acks.length > before, WAIT_MS, `the ack of ${JSON.stringify(body)}`);
    };
    return { prefix, peer, device, command, wills };
  }

  test("No Local, Retain As Published, Retain Handling and Subscription Identifiers reach mosquitto and the application", async () => {
    const { prefix, peer, device, command } = await setup();
    for (const branch of ["rap", "plain", "rh2"]) {
      await peer.publishAsync(`${prefix}/${branch}/x`, `kept-${branch}`, { qos: 1, retain: true });
    }
    await command({
      op: "sub",
      topic: `${prefix}/own`,
      options: { qos: 1, nl: true, properties: { subscriptionIdentifier: 7 } },
    });
    await command({
      op: "sub",
      topic: `${prefix}/rap/#`,
      options: { qos: 1, rap: true, properties: { subscriptionIdentifier: 9 } },
    });
    await command({ op: "sub", topic: `${prefix}/plain/#`, options: { qos: 1 } });
    await command({ op: "sub", topic: `${prefix}/rh2/#`, options: { qos: 1, rh: 2 } });
    // No Local: its own message does not come back; the peer's does, with the subscription's identifier.
    await command({ op: "pub", topic: `${prefix}/own`, text: "mine" });
    await peer.publishAsync(`${prefix}/own`, "theirs", { qos: 1 });
    // Live messages published with retain: kept as published only under Retain As Published.
    await peer.publishAsync(`${prefix}/rap/x`, "live", { qos: 1, retain: true });
    await peer.publishAsync(`${prefix}/plain/x`, "live", { qos: 1, retain: true });
    await peer.publishAsync(`${prefix}/rh2/x`, "live", { qos: 1 });
    await device.waitForSerial(new RegExp(`got ${prefix}/rh2/x live `), WAIT_MS);
    const got = device.serialOutput.match(/^got .*$/gm) ?? [];
    expect(got).toEqual(
      expect.arrayContaining([
        `got ${prefix}/rap/x kept-rap retain=true ids=9`,
        `got ${prefix}/plain/x kept-plain retain=true ids=-`,
        `got ${prefix}/own theirs retain=false ids=7`,
        `got ${prefix}/rap/x live retain=true ids=9`,
        `got ${prefix}/plain/x live retain=false ids=-`,
        `got ${prefix}/rh2/x live retain=false ids=-`,
      ]),
    );
    // Retain Handling 2: no retained message at the subscribe; No Local: nothing of its own.
    expect(got).toHaveLength(6);
  });

  test("close with 0x04 has mosquitto publish the will, and Session Expiry 0 on the way out ends the session", async () => {
    const { prefix, peer, wills } = await setup({ sessionExpiry: "300" });
    const id = `opt-${prefix.split("/").join("-")}`;
    const body = JSON.stringify({ op: "close", reasonCode: 4, sessionExpiryInterval: 0 });
    await peer.publishAsync(`${prefix}/cmd`, body, { qos: 1 });
    await until(peer, () => wills.length > 0, WAIT_MS, "the will");
    expect(wills).toEqual(["gone"]);
    // The session the CONNECT asked mosquitto to keep for 300 s ended with the connection.
    const again = connect(`mqtt://127.0.0.1:${broker.port}`, {
      protocolVersion: 5,
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 300 },
    });
    try {
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once("connect", resolve));
      expect(connack.sessionPresent).toBe(false);
    } finally {
      await again.endAsync(true);
    }
  });
});

describe("compat Client, MQTT 5 options, against a scripted broker", () => {
  let scripted: ScriptedBroker | undefined;
  afterEach(() => scripted?.close());

  test("user properties, problem and response information on the wire; AUTH, re-authentication; DISCONNECT 0x04 with properties", async () => {
    const prefix = `s5/${process.pid}/${++run}`;
    const cmd = (body: object) =>
      ({
        cmd: "publish",
        topic: `${prefix}/cmd`,
        payload: JSON.stringify(body),
        qos: 0,
        retain: false,
        dup: false,
      }) as Packet;
    let peerOf: ((p: Packet) => void) | undefined;
    scripted = await startScriptedBroker((packet, peer) => {
      peerOf = (p) => peer.send(p);
      const auth = (reasonCode: number, data: string) =>
        peer.send({
          cmd: "auth",
          reasonCode,
          properties: { authenticationMethod: "X-REVERSE", authenticationData: Buffer.from(data) },
        } as Packet);
      switch (packet.cmd) {
        case "connect":
          auth(0x18, "nonce-1");
          return;
        case "auth": {
          const data = packet.properties?.authenticationData?.toString() ?? "";
          if (packet.reasonCode === 0x19) auth(0x18, "nonce-2");
          else if (data === "1-ecnon") {
            const properties = {
              responseInformation: "resp/base",
              authenticationMethod: "X-REVERSE",
              authenticationData: Buffer.from("ok:1-ecnon"),
            };
            peer.send({ cmd: "connack", sessionPresent: false, reasonCode: 0, properties } as Packet);
          } else if (data === "2-ecnon") auth(0, "ok:2-ecnon");
          return;
        }
        case "subscribe":
          peer.send({
            cmd: "suback",
            messageId: packet.messageId,
            granted: packet.subscriptions.map((s) => s.qos),
          } as Packet);
          return;
        case "unsubscribe":
          peer.send({ cmd: "unsuback", messageId: packet.messageId, granted: [0] } as unknown as Packet);
          return;
      }
    });
    const device = await devices.start({
      entry: ENTRY,
      config: { host: "127.0.0.1", port: String(scripted.port), prefix, auth: "1", sessionExpiry: "60" },
    });
    await device.waitForSerial(/ready responseInformation=resp\/base\n/, WAIT_MS);
    const send = (body: object) => peerOf!(cmd(body));
    send({
      op: "sub",
      topic: `${prefix}/a`,
      options: {
        qos: 1,
        nl: true,
        rap: true,
        rh: 1,
        properties: { subscriptionIdentifier: 5, userProperties: { why: "test" } },
      },
    });
    await device.waitForSerial(/done sub\n/, WAIT_MS);
    send({ op: "unsub", topic: `${prefix}/a`, user: [["why", "done"]] });
    await device.waitForSerial(/done unsub\n/, WAIT_MS);
    send({ op: "reauth" });
    await device.waitForSerial(/ I mqtt authenticated method=X-REVERSE/, WAIT_MS);
    send({ op: "close", reasonCode: 4, sessionExpiryInterval: 0, user: [["bye", "now"]] });
    await device.waitForSerial(/done close\n/, WAIT_MS);
    const seen = (cmdName: string) =>
      scripted!.received.map((r) => r.packet).filter((p) => p.cmd === cmdName) as Packet[];
    await eventually(() => seen("disconnect").length > 0, "DISCONNECT");
    expect(seen("connect")[0]).toMatchObject({
      protocolVersion: 5,
      properties: {
        requestResponseInformation: true,
        requestProblemInformation: false,
        userProperties: { site: "lab", tag: ["a", "b"] },
        authenticationMethod: "X-REVERSE",
      },
    });
    expect(
      seen("auth").map((p) => [
        (p as { reasonCode: number }).reasonCode,
        (p as { properties: { authenticationData: Buffer } }).properties.authenticationData.toString(),
      ]),
    ).toEqual([
      [0x18, "1-ecnon"],
      [0x19, "hello"],
      [0x18, "2-ecnon"],
    ]);
    expect(seen("subscribe").at(-1)).toMatchObject({
      subscriptions: [{ topic: `${prefix}/a`, qos: 1, nl: true, rap: true, rh: 1 }],
      properties: { subscriptionIdentifier: 5, userProperties: { why: "test" } },
    });
    expect(seen("unsubscribe")[0]).toMatchObject({
      unsubscriptions: [`${prefix}/a`],
      properties: { userProperties: { why: "done" } },
    });
    expect(seen("disconnect")[0]).toMatchObject({
      reasonCode: 4,
      properties: { sessionExpiryInterval: 0, userProperties: { bye: "now" } },
    });
  });
});
