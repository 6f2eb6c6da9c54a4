// QoS 1/2 messages accepted while offline (`pub queued`) and a reboot, against mosquitto: the firmware in XS (the
// simulator) loses its link, is told to publish, and goes, by a power cut or a polite shutdown; it boots again on the
// same storage and a subscriber (MQTT.js) counts what arrives.
//
// Asserted:
// - in a session the broker keeps (3.1.1 cleanSession 0; 5.0 with a session expiry), the waiting messages were
//   stored: after the reboot every one arrives, in the order they were accepted, before a message published after
//   the reboot; with QoS 2 each exactly once. Before they were stored (chaos finding F7) none of them arrived and
//   nothing said so;
// - what cannot be stored is named: more waiting messages than the store's slots, at the next boot after a power
//   cut (`diag message_dropped count=unknown reason=no_slot when=power_cut`); with no session kept (nothing is
//   stored), at a polite shutdown with the count (`... count=2 reason=no_session when=shutdown`).
import type { MqttClient } from "mqtt";
import type { SimDevice } from "../../hosts/sim/node/device";
import { until } from "../helpers/events";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { topicWatcher } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

/** Publishes on the console, offline: each must be accepted as queued. */
async function queue(device: SimDevice, topic: string, payloads: string[], qos: number): Promise<void> {
  for (const payload of payloads) {
    const from = device.serialOutput.length;
    device.typeLine(`pub ${topic} ${payload} ${qos}`);
    await device.waitForSerial(/^\| pub queued$/m, 20000, from);
  }
}

describeMosquitto("QoS 1/2 messages queued offline outlive a reboot", () => {
  const devices = simDevices();
  let mosquitto: Mosquitto;
  const peers: MqttClient[] = [];
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.endAsync(true)));
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  /** A subscriber to `topic` and what it received, in order. */
  async function watch(id: string, topic: string): Promise<string[]> {
    const { client, received } = await topicWatcher(mosquitto.url, `${id}-peer`, topic, 2);
    peers.push(client);
    return received;
  }

  test.each([
    ["3.1.1", 1, "kill"],
    ["3.1.1", 2, "shutdown"],
    ["5", 1, "shutdown"],
    ["5", 2, "kill"],
  ] as const)(
    "MQTT %s, QoS %i, reboot by %s: sent after the reboot, in order, before newer ones",
    async (version, qos, end) => {
      const id = `queue-${version === "5" ? 5 : 4}-${qos}-${end}-${process.pid}`;
      const topic = `${id}/data`;
      const received = await watch(id, topic);
      const config = { clientId: id, mqttVersion: version, cleanSession: "0", sessionExpiry: "600" };
      const options = { broker: mosquitto.url, config, storageFile: devices.storageFile() };
      const first = await devices.start(options);
      await first.waitForSerial(/ I mqtt subscribed /);
      first.setLink(false);
      const waiting = ["w1", "w2", "w3"];
      await queue(first, topic, waiting, qos);
      if (end === "kill") await first.kill();
      else await first.shutdown();
      expect(first.serialOutput).not.toMatch(/message_dropped/);

      const second = await devices.start(options);
      await second.waitForSerial(/ I mqtt connected session=resumed /);
      second.typeLine(`pub ${topic} m4 ${qos}`);
      await until(() => received.includes("m4"), "m4 at the subscriber");
      const firsts = received.filter((r, i) => received.indexOf(r) === i);
      expect(firsts).toEqual([...waiting, "m4"]);
      if (qos === 2) expect(received).toEqual([...waiting, "m4"]);
    },
  );

  test("more waiting than the store holds: what it holds arrives, the rest is named at the boot after a power cut", async () => {
    const id = `queue-slots-${process.pid}`;
    const topic = `${id}/data`;
    const received = await watch(id, topic);
    const config = { clientId: id, mqttVersion: "3.1.1", cleanSession: "0" };
    const options = { broker: mosquitto.url, config, storageFile: devices.storageFile() };
    const first = await devices.start(options);
    await first.waitForSerial(/ I mqtt subscribed /);
    first.setLink(false);
    // The store keeps 16 waiting messages (Session's queueSlots).
    const waiting = Array.from({ length: 18 }, (_, i) => `w${i + 1}`);
    await queue(first, topic, waiting, 1);
    await first.kill();

    const second = await devices.start(options);
    await second.waitForSerial(/ W diag message_dropped count=unknown reason=no_slot when=power_cut /);
    await second.waitForSerial(/ I mqtt connected session=resumed /);
    second.typeLine(`pub ${topic} m 1`);
    await until(() => received.includes("m"), "m at the subscriber");
    expect(received.filter((r, i) => received.indexOf(r) === i)).toEqual([...waiting.slice(0, 16), "m"]);
  });

  test("with no session kept, a polite shutdown names what it loses", async () => {
    const id = `queue-clean-${process.pid}`;
    const config = { clientId: id, mqttVersion: "3.1.1", cleanSession: "1" };
    const device = await devices.start({ broker: mosquitto.url, config, storageFile: devices.storageFile() });
    await device.waitForSerial(/ I mqtt subscribed /);
    device.setLink(false);
    await queue(device, `${id}/data`, ["a", "b"], 1);
    await queue(device, `${id}/data`, ["zero"], 0);
    await device.shutdown();
    expect(device.serialOutput).toMatch(/ W diag message_dropped count=2 reason=no_session when=shutdown /);
  });
});
