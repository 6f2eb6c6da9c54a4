// Broker behaviour mosquitto does not produce, from a scripted broker: CONNACK refusals other than "not authorized"
// (mosquitto 2.0 refuses a client id prefix mismatch with 5 / 0x87 too), MQTT 5 DISCONNECTs with a reason and a
// reason string, and malformed packets. Each test asserts the serial output names the cause, and nothing else.

import type { Packet } from "mqtt-packet";
import type { Code } from "tether/diag/codes";
import { accept, type Peer, type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
const brokers: ScriptedBroker[] = [];

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.close()));
});

/**
 * A broker that lets clients in and answers SUBSCRIBE, PUBLISH and PINGREQ, after `script` had its say on each
 * packet: a script that returns true has answered it itself.
 */
async function broker(script: (packet: Packet, peer: Peer) => boolean | undefined): Promise<ScriptedBroker> {
  const started = await startScriptedBroker((packet, peer) => {
    if (script(packet, peer)) return;
    if (packet.cmd === "connect") accept(peer);
    else if (packet.cmd === "subscribe") {
      const granted = packet.subscriptions.map((s) => s.qos);
      peer.send({ cmd: "suback", messageId: packet.messageId, granted } as Packet);
    } else if (packet.cmd === "publish" && packet.qos === 1) {
      peer.send({ cmd: "puback", messageId: packet.messageId } as Packet);
    } else if (packet.cmd === "pingreq") peer.send({ cmd: "pingresp" });
  });
  brokers.push(started);
  return started;
}

/** A broker that refuses every CONNECT with `code` (a 3.1.1 return code or a 5.0 reason code). */
const refusing = (code: number, reasonString?: string) =>
  broker((packet, peer) => {
    if (packet.cmd !== "connect") return false;
    const properties = reasonString ? { reasonString } : undefined;
    peer.send({ cmd: "connack", sessionPresent: false, returnCode: code, reasonCode: code, properties } as Packet);
    return true;
  });

/** A broker that lets the client in, then sends it `disconnect` once it has subscribed. */
const disconnecting = (reasonCode: number, properties: Record<string, string>) =>
  broker((packet, peer) => {
    if (packet.cmd !== "subscribe" || peer.id > 1) return false;
    peer.send({ cmd: "disconnect", reasonCode, properties } as Packet);
    return true;
  });

describe("CONNACK refusals", () => {
  test.concurrent.each<[Code, string, number, string, string | undefined]>([
    ["protocol_rejected", "3.1.1", 1, "0x01 Connection Refused, unacceptable protocol version", undefined],
    ["protocol_rejected", "5", 0x84, "0x84 Unsupported Protocol Version", "this broker speaks MQTT 3.1.1 only"],
    ["client_id_rejected", "3.1.1", 2, "0x02 Connection Refused, identifier rejected", undefined],
    ["client_id_rejected", "5", 0x85, "0x85 Client Identifier not valid", "client ids must start with plant-"],
    ["server_unavailable", "3.1.1", 3, "0x03 Connection Refused, Server unavailable", undefined],
    ["server_unavailable", "5", 0x88, "0x88 Server unavailable", undefined],
    ["packet_too_large", "5", 0x95, "0x95 Packet too large", "CONNECT too large"],
    ["quota_exceeded", "5", 0x9f, "0x9f Connection rate exceeded", "slow down"],
  ])("%s: CONNACK %s code %d", async (code, version, connack, reason, reasonString) => {
    const refuser = await refusing(connack, reasonString);
    const device = await boot({ broker: refuser.url, clientId: uniqueId(code), mqttVersion: version });
    const line = await device.waitForCode(code);
    expect(line.fields.reason?.toLowerCase()).toBe(reason.toLowerCase());
    // An MQTT 5 reason string from the broker is shown as it came.
    expect(line.fields.reason_string).toBe(reasonString);
    device.expectNames([code]);
  });
});

describe("MQTT 5 DISCONNECT from the broker", () => {
  test.concurrent("session_taken_over: DISCONNECT 0x8E", async () => {
    const scripted = await disconnecting(0x8e, { reasonString: "another client connected with this id" });
    const device = await boot({ broker: scripted.url, clientId: uniqueId("taken"), mqttVersion: "5" });
    const line = await device.waitForCode("session_taken_over");
    expect(line.fields).toMatchObject({
      reason: "0x8e Session taken over",
      reason_string: "another client connected with this id",
    });
    device.expectNames(["session_taken_over"]);
  });

  // Every form brokers send: host:port, URLs (tcp:// is what many brokers and HiveMQ's docs show), lists.
  test.concurrent.each([
    ["localhost:PORT"],
    ["tcp://localhost:PORT"],
    ["mqtt://localhost:PORT/"],
    ["ws://localhost:80/mqtt tcp://localhost:PORT"],
  ])("server_moved: DISCONNECT 0x9D with server reference %s, which the device follows", async (form) => {
    let target = "";
    const scripted = await broker((packet, peer) => {
      if (packet.cmd !== "subscribe" || peer.id > 1) return false;
      peer.send({ cmd: "disconnect", reasonCode: 0x9d, properties: { serverReference: target } } as Packet);
      return true;
    });
    // The reference names the same broker by another name, which the device must dial to get in again.
    target = form.replace("PORT", String(scripted.port));
    const device = await boot({ broker: scripted.url, clientId: uniqueId("moved"), mqttVersion: "5" });
    const line = await device.waitForCode("server_moved");
    expect(line.fields).toMatchObject({ reason: "0x9d Server moved", server_reference: target });
    const from = device.output.indexOf("diag server_moved");
    await device.waitForLine(new RegExp(` I mqtt connecting broker=mqtt://localhost:${scripted.port} `), 20000, from);
    await device.waitForLine(/ I mqtt connected /, 20000, from);
    device.expectNames(["server_moved"]);
  });

  test.concurrent("quota_exceeded: DISCONNECT 0x97", async () => {
    const scripted = await disconnecting(0x97, { reasonString: "100 messages per minute" });
    const device = await boot({ broker: scripted.url, clientId: uniqueId("quota"), mqttVersion: "5" });
    const line = await device.waitForCode("quota_exceeded");
    expect(line.fields).toMatchObject({ reason: "0x97 Quota exceeded", reason_string: "100 messages per minute" });
    device.expectNames(["quota_exceeded"]);
  });

  test.concurrent("server_disconnect: DISCONNECT 0x8B with the broker's reason string", async () => {
    const scripted = await disconnecting(0x8b, { reasonString: "shutting down for maintenance" });
    const device = await boot({ broker: scripted.url, clientId: uniqueId("shutdown"), mqttVersion: "5" });
    const line = await device.waitForCode("server_disconnect");
    expect(line.fields).toMatchObject({
      reason: "0x8b Server shutting down",
      reason_string: "shutting down for maintenance",
    });
    device.expectNames(["server_disconnect"]);
  });
});

describe("malformed packets", () => {
  test.concurrent.each([["3.1.1"], ["5"]])("protocol_error: a packet of reserved type 0 (MQTT %s)", async (version) => {
    const scripted = await broker((packet, peer) => {
      if (packet.cmd !== "subscribe") return false;
      peer.raw(Uint8Array.of(0x00, 0x00));
      return true;
    });
    const device = await boot({ broker: scripted.url, clientId: uniqueId("malformed"), mqttVersion: version });
    const line = await device.waitForCode("protocol_error");
    expect(line.fields.error).toBe("bad_packet_type");
    device.expectNames(["protocol_error"]);
  });
});
