// Publishes that can never be sent are refused when made, with the reason, against mosquitto: larger than the
// broker's Maximum Packet Size (MQTT 5, mosquitto's max_packet_size) or than our own maxPacketSize. They used to be
// taken in flight, refused by the encoder, and never released: every later publish waited behind them for good.
import type { MqttClient } from "mqtt";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

describeMosquitto("publishes that can never be sent", () => {
  const devices = simDevices();
  let mosquitto: Mosquitto;
  /** Without a limit of its own: our maxPacketSize must hold the device's CONNECT and beacon (about 300 bytes). */
  let plain: Mosquitto;
  const peers: MqttClient[] = [];
  beforeAll(async () => {
    // Small enough for a publish that fits on one console line (256 characters) to exceed it.
    mosquitto = await startMosquitto({ config: ["max_packet_size 200"] });
    plain = await startMosquitto();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.endAsync(true)));
  });
  afterAll(async () => {
    await mosquitto?.stop();
    await plain?.stop();
  });

  // Our own maxPacketSize holds the device's CONNECT and beacon (about 300 bytes): over it, a payload that fits on a
  // console line (256 characters) takes three bytes a character.
  test.each([
    ["5", {}, "x".repeat(210), /a packet of 2\d\d bytes exceeds the broker's Maximum Packet Size \(200\)/],
    ["3.1.1", { maxPacketSize: "400" }, "日".repeat(140), /a packet of 4\d\d bytes exceeds maxPacketSize \(400\)/],
  ] as const)(
    "are refused at once with the reason, and later ones still leave (MQTT %s)",
    async (version, extra, payload, why) => {
      const id = `limits-${version === "5" ? 5 : 4}-${process.pid}`;
      const broker = version === "5" ? mosquitto : plain;
      const watcher = await peer(broker.url, `${id}-peer`);
      peers.push(watcher.client);
      await subscribe(watcher.client, `${id}/t`, 1);
      const device = await devices.start({
        broker: broker.url,
        config: { clientId: id, mqttVersion: version, ...extra },
      });
      await device.waitForSerial(/ I mqtt subscribed /);
      for (const qos of [1, 0]) {
        const from = device.serialOutput.length;
        device.typeLine(`pub ${id}/t ${payload} ${qos}`);
        await device.waitForSerial(/^\| pub invalid$/m, 20000, from);
        const [warning] = await device.waitForSerial(/ W mqtt warning .*refused.*$/m, 20000, from);
        expect(warning).toMatch(why);
      }
      device.typeLine(`pub ${id}/t after 1`);
      const m = await watcher.waitFor((r) => r.topic === `${id}/t`);
      expect(m).toMatchObject({ payload: "after", qos: 1 });
    },
  );
  test("behind the in-flight window, connected, the queue keeps its bounds: QoS 1 refused with full", async () => {
    const id = `window-${process.pid}`;
    const proxy = await FaultProxy.start({ host: "127.0.0.1", port: mosquitto.port });
    try {
      const config = { clientId: id, maxInflight: "2", queueCount: "3", beaconInterval: "0" };
      const device = await devices.start({ broker: `mqtt://127.0.0.1:${proxy.port}`, config });
      await device.waitForSerial(/ I mqtt subscribed /);
      // Connected, and no PUBACK ever comes back.
      proxy.blackhole(true, "down");
      const answers: string[] = [];
      for (let i = 1; i <= 8; i++) {
        const from = device.serialOutput.length;
        device.typeLine(`pub ${id}/t m${i} 1`);
        answers.push((await device.waitForSerial(/^\| pub (\w+)$/m, 20000, from))[1]);
      }
      // The status message at connect may still hold a slot of the window: one fewer sent then.
      const expected = ["sent", "sent", "queued", "queued", "queued", "full", "full", "full"];
      const shifted = ["sent", "queued", "queued", "queued", "full", "full", "full", "full"];
      expect([expected, shifted]).toContainEqual(answers);
      const from = device.serialOutput.length;
      device.typeLine("status");
      await device.waitForSerial(/^\| .* inflight=2 queued=3/m, 20000, from);
    } finally {
      await proxy.close();
    }
  });
});
