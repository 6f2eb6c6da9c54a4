// A reboot in the middle of QoS 1 and 2 flows, against mosquitto: the firmware in XS (the simulator) publishes
// through a fault proxy, the proxy withholds what would complete the flows, and the device loses power. It boots
// again on the same storage (cleanSession=0 and, in MQTT 5, a session expiry: the broker keeps our session) and a
// subscriber (MQTT.js) counts what arrives.
//
// Asserted, for each of MQTT 3.1.1 and 5.0 and QoS 1 and 2:
// - m1 was published while nothing crossed the link (the broker never saw it), m2 while only the broker's answers
//   were lost (the broker holds it, and for QoS 2 its packet identifier awaiting our PUBREL); m3 is published after
//   the reboot, then m4 as a marker;
// - every one of m1..m4 arrives at the subscriber; with QoS 2 each exactly once; with QoS 1 at least once (the
//   broker may deliver m2 twice: it is resent with DUP, which QoS 1 allows);
// - the device says it resent the two messages (`resent=2`) on the resumed session.
// Before the session state was stored, m1 and m2 were lost: their state lived in RAM, and with QoS 2 the broker held
// m2's identifier, which the rebooted device gave to a new message.
import type { MqttClient } from "mqtt";
import type { SimDevice } from "../../hosts/sim/node/device";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { until } from "../helpers/events";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, topicWatcher } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

/**
 * Waits (asking `status` every 50 ms, 20 s at most: a hang guard, not a speed) until `count` messages are in flight:
 * the status message goes out at connect, too.
 */
async function inFlight(device: SimDevice, count: number): Promise<void> {
  for (const end = Date.now() + 20000; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const from = device.serialOutput.length;
    device.typeLine("status");
    const [, inflight] = await device.waitForSerial(/^\| .* inflight=(\d+) /m, 20000, from);
    if (inflight === String(count)) return;
  }
  throw new Error(`never ${count} in flight`);
}

async function nothingInFlight(device: SimDevice): Promise<void> {
  await inFlight(device, 0);
}

describeMosquitto("a reboot mid-flow loses nothing", () => {
  const devices = simDevices();
  let mosquitto: Mosquitto;
  const proxies: FaultProxy[] = [];
  const peers: MqttClient[] = [];
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.endAsync(true)));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  test.each([
    ["3.1.1", 1],
    ["3.1.1", 2],
    ["5", 1],
    ["5", 2],
  ] as const)("MQTT %s, QoS %i", async (version, qos) => {
    const id = `reboot-${version === "5" ? 5 : 4}-${qos}-${process.pid}`;
    const topic = `${id}/data`;
    const proxy = await FaultProxy.start({ host: "127.0.0.1", port: mosquitto.port });
    proxies.push(proxy);
    const { client, received } = await topicWatcher(mosquitto.url, `${id}-peer`, topic, 2);
    peers.push(client);

    const storageFile = devices.storageFile();
    // No status beacon but the one at connect (waited for below): what the proxy swallows is ours alone.
    const config = { clientId: id, mqttVersion: version, cleanSession: "0", sessionExpiry: "600", beaconInterval: "0" };
    const options = { broker: `mqtt://127.0.0.1:${proxy.port}`, config, storageFile };
    const first = await devices.start(options);
    await first.waitForSerial(/ I mqtt subscribed /);
    await nothingInFlight(first);

    proxy.blackhole(true, "both");
    const sent = proxy.dropped;
    first.typeLine(`pub ${topic} m1 ${qos}`);
    // m1's bytes reach the proxy after the console says `pub sent`, on a busy machine after the switch below: they
    // would cross, and the broker's answer to m1, swallowed, would pass for m2's.
    await until(() => proxy.dropped > sent, "m1 swallowed on its way to the broker");
    proxy.blackhole(true, "down");
    const answers = proxy.dropped;
    first.typeLine(`pub ${topic} m2 ${qos}`);
    // The broker took m2: its PUBACK or PUBREC was swallowed on the way back.
    await until(() => proxy.dropped > answers, "the broker's answer to m2");
    await first.kill();
    proxy.blackhole(false);

    const second = await devices.start(options);
    await second.waitForSerial(/ I mqtt connected session=resumed .*resent=2/);
    second.typeLine(`pub ${topic} m3 ${qos}`);
    second.typeLine(`pub ${topic} m4 ${qos}`);
    await until(() => received.includes("m4"), "m4 at the subscriber");

    const counts = Object.fromEntries(["m1", "m2", "m3", "m4"].map((m) => [m, received.filter((r) => r === m).length]));
    if (qos === 2) expect(counts).toEqual({ m1: 1, m2: 1, m3: 1, m4: 1 });
    else for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(1);
    expect(received.filter((r) => !/^m[1-4]$/.test(r))).toEqual([]);
  });

  test("a message too large to save makes the first connection after the reboot start clean, and says so", async () => {
    const id = `reboot-big-${process.pid}`;
    const proxy = await FaultProxy.start({ host: "127.0.0.1", port: mosquitto.port });
    proxies.push(proxy);
    const storageFile = devices.storageFile();
    // MQTT 5: a clean start with a session expiry leaves a session behind, which the next connection resumes.
    // The command comes over the command topic: a line that long is more than the serial console takes. No status
    // beacon but the one at connect: a beacon on a busy machine would be a third message in flight.
    const config = { clientId: id, mqttVersion: "5", sessionExpiry: "600", remoteCommands: "pub", beaconInterval: "0" };
    const options = { broker: `mqtt://127.0.0.1:${proxy.port}`, config, storageFile };
    const first = await devices.start(options);
    await first.waitForSerial(/ I mqtt subscribed /);
    await nothingInFlight(first);
    // What the device sends is lost from now on; what it is sent still arrives.
    proxy.blackhole(true, "up");
    const operator = await peer(mosquitto.url, `${id}-operator`);
    peers.push(operator.client);
    await operator.client.publishAsync(`tether/${id}/cmd`, `pub ${id}/data ${"x".repeat(1100)} 2`, { qos: 0 });
    // The message and the command's reply (QoS 1), both lost on the way up.
    await inFlight(first, 2);
    await first.kill();
    proxy.blackhole(false);

    // The broker kept the session (it would answer session present), but the device no longer matches it.
    const second = await devices.start(options);
    await second.waitForSerial(
      / W mqtt warning message="next connection starts a clean session: .*could not all be stored/,
    );
    await second.waitForSerial(/ I mqtt connected session=new /);
    await second.waitForSerial(/ I mqtt subscribed /);
    // Once: the connection after it resumes the session again.
    second.typeLine("reconnect");
    await second.waitForSerial(/ I mqtt connected session=resumed /);
  });
});
