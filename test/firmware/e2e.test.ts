// The firmware, running in the real XS engine through the simulator host, against real brokers: it connects,
// publishes its retained status beacon, takes commands on its command topic, exchanges QoS 0, 1 and 2 messages
// with a second client (MQTT.js), and its last will fires when the device dies abruptly.
import type { MqttClient } from "mqtt";
import { type EmbeddedBroker, startBroker } from "../../hosts/sim/node/broker";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

async function waitUntil(condition: () => boolean, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function brokerTests(start: () => Promise<{ url: string; stop(): Promise<void> }>): void {
  const devices = simDevices();
  let broker: { url: string; stop(): Promise<void> };
  const peers: MqttClient[] = [];
  beforeEach(async () => {
    broker = await start();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.endAsync(true)));
    await broker.stop();
  });
  const newPeer = async (id: string) => {
    const p = await peer(broker.url, id);
    peers.push(p.client);
    return p;
  };

  test("connects, publishes its retained status beacon and answers commands on its command topic", async () => {
    const device = await devices.start({ broker: broker.url, config: { clientId: "dev1", beaconInterval: "1" } });
    await device.waitForSerial(/ I mqtt subscribed filters=tether\/dev1\/cmd/, 10000);
    const watcher = await newPeer("watcher1");
    await subscribe(watcher.client, "tether/dev1/#", 1);
    const status = await watcher.waitFor((m) => m.topic === "tether/dev1/status");
    expect(JSON.parse(status.payload)).toMatchObject({ online: true, ok: 1 });
    expect(status.retain).toBe(true);

    watcher.client.publish("tether/dev1/cmd", "status", { qos: 1 });
    const reply = await watcher.waitFor((m) => m.topic === "tether/dev1/reply");
    expect(reply.payload).toMatch(/^state=connected client_id=dev1 /);
  });

  test("publishes QoS 0, 1 and 2 that a second client receives, and receives what it sends", async () => {
    const device = await devices.start({ broker: broker.url, config: { clientId: "dev2" } });
    await device.waitForSerial(/ I mqtt subscribed /, 10000);
    const other = await newPeer("other2");
    await subscribe(other.client, "e2e/out/+", 2);
    for (const qos of [0, 1, 2]) {
      device.typeLine(`pub e2e/out/${qos} "hello qos ${qos}" ${qos}`);
      const m = await other.waitFor((r) => r.topic === `e2e/out/${qos}`);
      expect(m).toMatchObject({ payload: `hello qos ${qos}`, qos });
    }

    device.typeLine("sub e2e/in/# 2");
    await device.waitForSerial(/ I mqtt subscribed filters=e2e\/in\/# codes=2/, 10000);
    for (const qos of [0, 1, 2] as const) {
      const mark = device.serialOutput.length;
      other.client.publish(`e2e/in/${qos}`, `to device ${qos}`, { qos });
      await device.waitForSerial(new RegExp(` I mqtt message topic=e2e/in/${qos} qos=${qos} bytes=11`), 10000, mark);
    }
  });

  test("a retained message reaches a device that subscribes later", async () => {
    const other = await newPeer("other3");
    await new Promise<void>((resolve, reject) =>
      other.client.publish("e2e/retained", "kept", { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve())),
    );
    const device = await devices.start({ broker: broker.url, config: { clientId: "dev3" } });
    await device.waitForSerial(/ I mqtt subscribed /, 10000);
    device.typeLine("sub e2e/retained 1");
    await device.waitForSerial(/ I mqtt message topic=e2e\/retained qos=1 bytes=4/, 10000);
  });

  test("the last will marks the device offline when it dies abruptly", async () => {
    const device = await devices.start({ broker: broker.url, config: { clientId: "dev4", keepAlive: "2" } });
    await device.waitForSerial(/ I mqtt subscribed /, 10000);
    const watcher = await newPeer("watcher4");
    await subscribe(watcher.client, "tether/dev4/status", 1);
    await watcher.waitFor((m) => m.topic === "tether/dev4/status" && m.payload.includes('"online":true'));
    await device.kill();
    const will = await watcher.waitFor((m) => m.topic === "tether/dev4/status" && m.payload === '{"online":false}');
    expect(will.retain).toBe(false); // a will is delivered to live subscribers as a normal publish
  });

  test("a shutdown says goodbye: status offline, then DISCONNECT", async () => {
    const device = await devices.start({ broker: broker.url, config: { clientId: "dev5" } });
    await device.waitForSerial(/ I mqtt subscribed /, 10000);
    const watcher = await newPeer("watcher5");
    await subscribe(watcher.client, "tether/dev5/status", 1);
    await watcher.waitFor((m) => m.payload.includes('"online":true'));
    await device.shutdown();
    expect(device.serialOutput).toMatch(/ I mqtt closed reason=shutdown/);
    await watcher.waitFor((m) => m.payload === '{"online":false}');
    // mosquitto logs how each client left: "disconnected" after a DISCONNECT, "closed its connection" without.
    if ("log" in broker) await waitUntil(() => /Client dev5 disconnected\./.test((broker as Mosquitto).log()));
  });
}

describe("firmware against aedes", () => {
  brokerTests(async (): Promise<EmbeddedBroker> => startBroker());
});

describeMosquitto("firmware against mosquitto", () => {
  brokerTests(async (): Promise<Mosquitto> => startMosquitto());
});
