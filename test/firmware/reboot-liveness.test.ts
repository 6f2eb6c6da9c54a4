// What the session stores holds the device to nothing across reboots, against mosquitto with the firmware in XS (the
// simulator) rebooted on the same storage (chaos seed 5):
// - a message stored by a run that kept the session and read back by one that keeps none stays stored until it is
//   through: a power cut of that run before then used to lose it without a word (the values were removed at boot);
// - the first close after a stored message (mosquitto `max_qos 1` drops a 3.1.1 client for a QoS 2 PUBLISH) is kept
//   with it: the next boot's first close after it quarantines it. Kept in RAM only, every reboot started the count
//   again, and a device rebooted between the two closes quarantine needs resent it at every boot, for ever.
import type { MqttClient } from "mqtt";
import { until } from "../helpers/events";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { topicWatcher } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

describeMosquitto("stored messages across reboots", () => {
  const devices = simDevices();
  let mosquitto: Mosquitto;
  /** A broker that drops a 3.1.1 client publishing at QoS 2. */
  let strict: Mosquitto;
  const peers: MqttClient[] = [];
  beforeAll(async () => {
    [mosquitto, strict] = await Promise.all([startMosquitto(), startMosquitto({ config: ["max_qos 1"] })]);
  });
  afterAll(async () => {
    await Promise.all(peers.splice(0).map((p) => p.endAsync(true)));
    await Promise.all([mosquitto?.stop(), strict?.stop()]);
  });

  test("read back by a run that keeps no session, a stored message outlives that run's power cut", async () => {
    const id = `leftover-${process.pid}`;
    const topic = `${id}/data`;
    const { client, received } = await topicWatcher(mosquitto.url, `${id}-peer`, topic, 1);
    peers.push(client);
    const storageFile = devices.storageFile();
    const config = { clientId: id, mqttVersion: "3.1.1", cleanSession: "0" };
    const first = await devices.start({ broker: mosquitto.url, config, storageFile });
    await first.waitForSerial(/ I mqtt subscribed /);
    first.setLink(false);
    first.typeLine(`pub ${topic} kept 1`);
    await first.waitForSerial(/^\| pub queued$/m);
    await first.kill();
    // No session kept from here, and no broker: read back, not sent, and the power goes again.
    const clean = { ...config, cleanSession: "1" };
    const second = await devices.start({ broker: "mqtt://127.0.0.1:1", config: clean, storageFile });
    await second.waitForSerial(/ W diag tcp_refused /);
    await second.kill();
    const third = await devices.start({ broker: mosquitto.url, config: clean, storageFile });
    await third.waitForSerial(/ I mqtt connected /);
    await until(() => received.includes("kept"), "the stored message at the subscriber");
    expect(received).toEqual(["kept"]);
  }, 60000);

  test("a message the broker closed the connection after, rebooted before the second close, is quarantined at the next boot's first", async () => {
    const id = `suspect-${process.pid}`;
    const storageFile = devices.storageFile();
    // A long backoff: the first run is cut off before it resends the message.
    const config = { clientId: id, mqttVersion: "3.1.1", cleanSession: "0", backoffBase: "10000", backoffCap: "20000" };
    const first = await devices.start({ broker: strict.url, config, storageFile });
    await first.waitForSerial(/ I mqtt subscribed /);
    first.typeLine(`pub ${id}/q2 exactly-once 2`);
    await first.waitForSerial(/ W diag (broker_closed|tcp_reset) /);
    expect(first.serialOutput).not.toMatch(/message_quarantined/);
    await first.kill();
    const second = await devices.start({ broker: strict.url, config, storageFile });
    await second.waitForSerial(/ W diag message_quarantined /, 40000);
    const lines = second.serialOutput.split("\n");
    const at = lines.findIndex((l) => / W diag message_quarantined /.test(l));
    expect(lines[at]).toMatch(new RegExp(`topic=${id}/q2 qos=2 .* closes=2 `));
    // The close it came with is this boot's first: no close of the broker's before it.
    expect(lines.slice(0, at).filter((l) => / W diag (broker_closed|tcp_reset) /.test(l))).toEqual([]);
  }, 60000);
});
