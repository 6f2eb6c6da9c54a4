// Session misbehaviour mosquitto never produces, from a scripted broker: a session claimed in answer to a clean start
// (MQTT-3.2.2-4), and an MQTT 5 broker that sends more than the Maximum Packet Size we announced, again at every
// resumption of the session (mosquitto respects the maximum: it drops such a message for the client instead).

import type { Packet } from "mqtt-packet";
import { until } from "../helpers/events";
import { type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { devices, FAST, uniqueId } from "./helpers/device";

const boot = devices().boot;
const brokers: ScriptedBroker[] = [];

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.close()));
});

async function broker(onConnect: (clean: boolean) => Packet, afterSubscribe?: (clean: boolean) => Packet[]) {
  let clean = false;
  const started = await startScriptedBroker((packet, peer) => {
    if (packet.cmd === "connect") {
      clean = packet.clean === true;
      peer.send(onConnect(clean));
    } else if (packet.cmd === "subscribe") {
      const granted = packet.subscriptions.map((s) => s.qos);
      peer.send({ cmd: "suback", messageId: packet.messageId, granted } as Packet);
      for (const p of afterSubscribe?.(clean) ?? []) peer.send(p);
    } else if (packet.cmd === "publish" && packet.qos === 1) {
      peer.send({ cmd: "puback", messageId: packet.messageId } as Packet);
    } else if (packet.cmd === "pingreq") peer.send({ cmd: "pingresp" });
  });
  brokers.push(started);
  return started;
}

const connects = (b: ScriptedBroker) =>
  b.received.filter((r) => r.packet.cmd === "connect").map((r) => (r.packet as { clean: boolean }).clean);

test.concurrent.each(["3.1.1", "5"])(
  "a CONNACK with session present answering a clean start is refused (MQTT %s)",
  async (version) => {
    const b = await broker(() => ({ cmd: "connack", sessionPresent: true, returnCode: 0, reasonCode: 0 }) as Packet);
    const device = await boot({
      ...FAST,
      broker: b.url,
      clientId: uniqueId("claimed"),
      mqttVersion: version,
      cleanSession: "1",
    });
    const line = await device.waitForCode("protocol_error");
    expect(line.fields.detail ?? line.fields.message ?? JSON.stringify(line.fields)).toMatch(/session present/);
    expect(device.output).not.toMatch(/ I mqtt connected /);
    if (version === "5") {
      const disconnect = b.received.find((r) => r.packet.cmd === "disconnect")?.packet as { reasonCode: number };
      expect(disconnect.reasonCode).toBe(0x82);
    }
  },
);

test.concurrent("MQTT 5: a broker resending a message over our maximum does not keep the device in a loop", async () => {
  const id = uniqueId("loop");
  // The oversized message lives in the broker's session: it comes at every resumption, until a clean start. After
  // it, a `status` command: its reply on a connection shows the device took everything that came before.
  let poisoned = true;
  const afterSubscribe = (clean: boolean): Packet[] => {
    if (clean) poisoned = false;
    const status = { cmd: "publish", topic: `tether/${id}/cmd`, payload: Buffer.from("status"), qos: 0 } as Packet;
    if (!poisoned) return [status];
    return [{ cmd: "publish", topic: "poison", payload: Buffer.alloc(4000), qos: 1, messageId: 9 } as Packet, status];
  };
  const b = await broker(
    () => ({ cmd: "connack", sessionPresent: false, returnCode: 0, reasonCode: 0 }) as Packet,
    afterSubscribe,
  );
  const replied = (connection: number) =>
    b.received.some(
      (r) => r.id === connection && r.packet.cmd === "publish" && r.packet.topic === `tether/${id}/reply`,
    );
  const device = await boot({ ...FAST, broker: b.url, clientId: id, mqttVersion: "5", maxPacketSize: "1024" });
  await device.waitForCode("packet_too_large");
  await device.waitForLine(/ W mqtt warning message="next connection starts a clean session: .*maxPacketSize/);
  await until(() => replied(2), "a reply on the second connection");
  expect(connects(b)).toEqual([false, true]);
  expect(replied(1)).toBe(false);
  // MQTT 5's rule holds: the device said why it closed (0x95 Packet too large).
  const disconnect = b.received.find((r) => r.packet.cmd === "disconnect")?.packet as { reasonCode: number };
  expect(disconnect.reasonCode).toBe(0x95);
  // Once: later connections resume the session again, and it no longer holds the message.
  await device.command("reconnect", /./);
  await until(() => replied(3), "a reply on the third connection");
  expect(connects(b)).toEqual([false, true, false]);
  expect(device.failures().filter((f) => f.event === "packet_too_large")).toHaveLength(1);
});
