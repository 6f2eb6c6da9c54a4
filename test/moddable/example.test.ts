// examples/mqttbasic, Moddable's mqttbasic example on tether-mqtt, built with mcconfig for lin and run in mcsim
// against mosquitto: QoS 1 both ways, onClose with the failure's name when the broker stops, onReady again when it
// returns (where Moddable's module stays closed), and 100,000 QoS 1 messages received in one run: every timer the
// client arms is one Moddable timer armed again, where a timer per deadline would run out of the simulator's
// 16-bit timer ids after 65,535.

import { type Build, build, Mcsim, modulesOf, ownWarnings, unresolvedImports } from "../../tools/rigs/moddable";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";

const PREFIX = "tether/example";
const BULK = 100000;
/** mosquitto queues at most 1,000 messages for a slow subscriber by default, and drops the rest. */
const BROKER = { config: ["max_queued_messages 0"] };

describe("examples/mqttbasic for esp32", () => {
  test("compiles and links, every import of ours resolved, no warnings about our code, nothing it does not use", () => {
    const esp32 = build("examples/mqttbasic", { platform: "esp32" });
    try {
      expect(unresolvedImports(esp32.tmp)).toEqual([]);
      expect(ownWarnings(esp32.output)).toEqual([]);
      // The drop-in alone: none of the firmware's app, no TLS (Tether's or the SDK's), no WebSocket layer, no
      // diagnoser, no storage of ours (the SDK's base brings Preference on an ESP32), and of ECMA-419's IO the TCP
      // socket alone (with the listener its native code declares).
      const modules = [...modulesOf(esp32.tmp).keys()];
      expect(modules).toContain("tether/compat/mqtt");
      expect(
        modules.filter((m) =>
          /^tether\/app\/|^ssl\/|tls|websocket|sha1|x509|diagnose|idle-times|^hosts\/moddable\/(settings|nvs|stored)$/.test(
            m,
          ),
        ),
      ).toEqual([]);
      expect(modules.filter((m) => m.startsWith("embedded:io/")).sort()).toEqual([
        "embedded:io/socket/listener",
        "embedded:io/socket/tcp",
      ]);
    } finally {
      esp32.remove();
    }
  });
});

describeMosquitto("examples/mqttbasic for lin, in mcsim, against mosquitto", () => {
  let broker: Mosquitto;
  let lin: Build;
  let sim: Mcsim | undefined;
  beforeAll(async () => {
    broker = await startMosquitto(BROKER);
    lin = build("examples/mqttbasic", { platform: "lin", config: { port: String(broker.port) } });
  });
  afterAll(async () => {
    await sim?.kill();
    await broker?.stop();
    lin?.remove();
  });

  test("builds without warnings about our code, every import resolved", () => {
    expect(ownWarnings(lin.output)).toEqual([]);
    expect(unresolvedImports(lin.tmp)).toEqual([]);
  });

  test("QoS 1 both ways; onClose names the failure when the broker stops; onReady again when it returns", async () => {
    sim = Mcsim.start(lin.library!);
    await sim.waitFor(/example ready/);
    const app = await peer(broker.url, "example-peer");
    await subscribe(app.client, `${PREFIX}/out`, 1);
    app.client.publish(`${PREFIX}/in`, "hello", { qos: 1 });
    const echo = await app.waitFor((m) => m.topic === `${PREFIX}/out`);
    expect(echo).toMatchObject({ payload: "echo hello", qos: 1 });
    await app.client.endAsync(true);

    const port = broker.port;
    const before = sim.output.length;
    await broker.stop();
    const [, reason] = await sim.waitFor(/example closed (\w+)/, 20000, before);
    expect(["broker_closed", "tcp_refused"]).toContain(reason);
    broker = await startMosquitto({ ...BROKER, port });
    await sim.waitFor(/example ready/, 30000, before);
  }, 90000);

  test(`${BULK.toLocaleString("en")} QoS 1 messages in, every one counted`, async () => {
    const sender = await peer(broker.url, "example-bulk");
    const payload = Buffer.from("0123456789");
    const from = sim!.output.length;
    // In steps, each awaited: MQTT.js would otherwise queue all of them in memory at once.
    for (let sent = 0; sent < BULK; sent += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, () => sender.client.publishAsync(`${PREFIX}/bulk`, payload, { qos: 1 })),
      );
    }
    await sim!.waitFor(new RegExp(`example bulk ${BULK}\\n`), 120000, from);
    await sender.client.endAsync(true);
  }, 600000);
});
