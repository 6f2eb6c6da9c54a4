// The drop-in's `path`, as Moddable's module takes it: MQTT over WebSocket to mosquitto's WebSocket listener (wss
// with `secure`), with messages larger than 64 KB both ways (one frame with a 64-bit length each way), and a
// refused upgrade named in onClose and on serial. (mosquitto 2.0.11 sends large WebSocket frames slowly, see
// tools/rigs/websocket.ts: hence 70 KB, not more.) The application is the one of mqtt.test.ts, in XS.

import { makeCertificates, OPENSSL } from "../../tools/rigs/tls";
import { startWebSocketMosquitto, type WebSocketMosquitto } from "../../tools/rigs/websocket";
import { describeMosquitto } from "../helpers/mosquitto";
import { type Peer, peer } from "../helpers/peer";
import { simDevices } from "../helpers/sim";

const APP = "test/compat/fixtures/app.ts";
const devices = simDevices();
const certs = OPENSSL ? makeCertificates() : undefined;
let broker: WebSocketMosquitto;
let run = 0;
const peers: Peer[] = [];

beforeAll(async () => {
  broker = await startWebSocketMosquitto(certs?.good);
});

afterAll(async () => {
  for (const p of peers) await p.client.endAsync(true);
  await broker?.mosquitto.stop();
  certs?.remove();
});

/** Boots the application with `config`; resolves once `peer` sees it ready (it has subscribed to its commands). */
async function boot(config: Record<string, string>) {
  const prefix = `compat-ws/${process.pid}/${++run}`;
  const p = await peer(broker.mosquitto.url, `compat-ws-peer-${process.pid}-${run}`);
  peers.push(p);
  await p.client.subscribeAsync(`${prefix}/out/#`, { qos: 2 });
  const device = await devices.start({
    entry: APP,
    config: { host: "127.0.0.1", id: `compat-ws-${process.pid}-${run}`, prefix, ...config },
  });
  return { device, prefix, peer: p };
}

describeMosquitto("compat Client over WebSocket (path)", () => {
  test.each<[string, () => Record<string, string>]>([
    ["ws", () => ({ port: String(broker.ws), path: "/mqtt" })],
    ...(certs
      ? [
          ["wss", () => ({ port: String(broker.wss), path: "/mqtt", secure: "1", ca: certs.ca })] as [
            string,
            () => Record<string, string>,
          ],
        ]
      : []),
  ])("%s: onReady, commands, and 70 KB messages both ways", async (_name, config) => {
    const { device, prefix, peer: p } = await boot({ ...config(), maxPacketSize: "300000" });
    await p.waitFor((m) => m.topic === `${prefix}/out/ready` && m.payload === "1");
    await p.waitFor((m) => m.topic === `${prefix}/out/early`);
    await p.client.publishAsync(
      `${prefix}/cmd`,
      JSON.stringify({ op: "publish", topic: `${prefix}/out/cmd`, text: "ok", qos: 2 }),
      { qos: 1 },
    );
    expect((await p.waitFor((m) => m.topic === `${prefix}/out/cmd`)).qos).toBe(2);

    const big = "x".repeat(70_000);
    await p.client.publishAsync(`${prefix}/data`, big, { qos: 1 });
    await device.waitForSerial(new RegExp(`^data true 70000 ${70_000 * 0x78}$`, "m"), 10000);
    const echo = await p.waitFor((m) => m.topic === `${prefix}/out/echo`);
    expect(echo.payload === big).toBe(true);
    expect(echo.qos).toBe(1);
  });

  test("a path to a port that is no WebSocket listener: onClose websocket_failed, named on serial", async () => {
    const { device } = await boot({ port: String(broker.mosquitto.port), path: "/mqtt", reconnect: "0" });
    await device.waitForSerial(/^close websocket_failed$/m, 10000);
    expect(device.serialOutput).toMatch(/ E diag websocket_failed .*error=ws detail=no_response /);
  });
});
