// MQTT over WebSocket, the firmware in the simulator: ws:// and wss:// to mosquitto's WebSocket listener (with an
// MQTT.js peer on its plain listener), and every way an upgrade is refused, named: by mosquitto for real (a plain
// MQTT port), and by a small fake HTTP server for the answers mosquitto never gives (404, a wrong Accept, a wrong or
// missing subprotocol, no answer at all).

import type { Code } from "tether/diag/codes";
import { failureInfo } from "tether/diag/failures";
import { type Certificates, makeCertificates, OPENSSL } from "../../tools/rigs/tls";
import {
  FAKE_PATHS,
  type FakeWebSocketServer,
  startFakeWebSocketServer,
  startWebSocketMosquitto,
  type WebSocketMosquitto,
} from "../../tools/rigs/websocket";
import { describeMosquitto } from "../helpers/mosquitto";
import { type Peer, peer } from "../helpers/peer";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
let broker: WebSocketMosquitto;
let certs: Certificates | undefined;
let fake: FakeWebSocketServer;
const peers: Peer[] = [];

beforeAll(async () => {
  if (OPENSSL) certs = makeCertificates();
  broker = await startWebSocketMosquitto(certs?.good);
  fake = await startFakeWebSocketServer();
});

afterAll(async () => {
  for (const p of peers) await p.client.endAsync(true);
  await fake?.close();
  await broker?.mosquitto.stop();
  certs?.remove();
});

/** The device answers `status` on its command topic, sent by a peer on the plain listener: QoS 1 both ways. */
async function roundTrip(clientId: string, scheme: string): Promise<void> {
  const p = await peer(broker.mosquitto.url, uniqueId("ws-peer"));
  peers.push(p);
  await p.client.subscribeAsync(`tether/${clientId}/#`, { qos: 1 });
  await p.waitFor((m) => m.topic === `tether/${clientId}/status` && m.payload.includes('"online":true'));
  await p.client.publishAsync(`tether/${clientId}/cmd`, "status", { qos: 1 });
  const reply = await p.waitFor((m) => m.topic === `tether/${clientId}/reply`);
  expect(reply.payload).toContain(`broker=${scheme}://127.0.0.1:`);
  expect(reply.qos).toBe(1);
}

describeMosquitto("MQTT over WebSocket", () => {
  test.concurrent("ws:// connects to mosquitto's WebSocket listener and exchanges messages both ways", async () => {
    const clientId = uniqueId("ws");
    const device = await boot({ broker: `ws://127.0.0.1:${broker.ws}/mqtt`, clientId, logLevel: "debug" });
    await device.waitForLine(/ D ws connected ms=\d+/);
    await device.waitForLine(/ I mqtt connected /);
    await roundTrip(clientId, "ws");
    device.expectNames([]);
  });

  (OPENSSL ? test.concurrent : test.concurrent.skip)(
    "wss:// connects over TLS with the private CA, and refuses the broker without it",
    async () => {
      const clientId = uniqueId("wss");
      const device = await boot({ broker: `wss://127.0.0.1:${broker.wss}/mqtt`, clientId, brokerCa: certs!.ca });
      await device.waitForLine(/ I mqtt connected /);
      await roundTrip(clientId, "wss");
      device.expectNames([]);

      const untrusted = await boot({ broker: `wss://127.0.0.1:${broker.wss}/mqtt`, clientId: uniqueId("wss-ca") });
      const line = await untrusted.waitForCode("tls_failed");
      expect(line.fields).toMatchObject({ error: "tls", detail: "unknown_ca" });
    },
  );

  test.concurrent("the broker's restart is named as over TCP, and the device reconnects over WebSocket", async () => {
    let own = await startWebSocketMosquitto();
    try {
      const device = await boot({ broker: `ws://127.0.0.1:${own.ws}/mqtt`, clientId: uniqueId("ws-restart") });
      await device.waitForLine(/ I mqtt connected .* n=1$/);
      await own.mosquitto.stop();
      // Closed, or reset when mosquitto stopped with a packet of the device's unread, as over TCP.
      const line = await device.waitForCode(["broker_closed", "tcp_reset"]);
      expect(line.fields).toMatchObject({ error: line.event === "broker_closed" ? "closed" : "reset" });
      // While it is down the port refuses, before any upgrade.
      await device.waitForCode("tcp_refused");
      own = await startWebSocketMosquitto(undefined, { port: own.mosquitto.port, ws: own.ws });
      await device.waitForLine(/ I mqtt connected .* n=2$/);
      device.expectNames([line.event as Code, "tcp_refused"]);
    } finally {
      await own.mosquitto.stop();
    }
  });

  test.concurrent("the self-test walks the WebSocket upgrade as a step of its own", async () => {
    const device = await boot({ broker: `ws://127.0.0.1:${broker.ws}/mqtt`, clientId: uniqueId("ws-diag") });
    await device.waitForLine(/ I mqtt connected /);
    const output = await device.command("diag", /^(diag done|diagnosis: )/, 10000);
    expect(output[0]).toBe(`diag start broker=ws://127.0.0.1:${broker.ws}/mqtt`);
    expect(output).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^diag tcp ok \d+ms 127\.0\.0\.1$/),
        expect.stringMatching(/^diag websocket ok \d+ms$/),
        expect.stringMatching(/^diag connect ok \d+ms rtt=\d+ms session=new$/),
        expect.stringMatching(/^diag ping ok \d+ms rtt=\d+ms$/),
      ]),
    );
    expect(output[output.length - 1]).toMatch(/^diag done: every layer ok in \d+ms$/);
  });

  test.concurrent("the self-test stops at the websocket step with the refusal's diagnosis", async () => {
    const device = await boot({ broker: fake.url(FAKE_PATHS.http_404), clientId: uniqueId("ws-diag-404") });
    await device.waitForCode("websocket_failed");
    const output = await device.command("diag", /^(diag done|diagnosis: )/, 10000);
    expect(output.slice(-3)).toEqual([
      expect.stringMatching(/^diag tcp ok \d+ms 127\.0\.0\.1$/),
      expect.stringMatching(/^diag websocket failed \d+ms .*error=ws detail=http_404$/),
      `diagnosis: websocket_failed: ${failureInfo("websocket_failed").hint}`,
    ]);
  });

  test.concurrent.each<[string, () => string]>([
    ["no_response", () => `ws://127.0.0.1:${broker.mosquitto.port}/mqtt`], // mosquitto's plain MQTT listener
    ["http_404", () => fake.url(FAKE_PATHS.http_404)],
    ["subprotocol", () => fake.url(FAKE_PATHS.subprotocol)],
    ["no_subprotocol", () => fake.url(FAKE_PATHS.no_subprotocol)],
    ["bad_accept", () => fake.url(FAKE_PATHS.bad_accept)],
    ["response_timeout", () => fake.url(FAKE_PATHS.response_timeout)],
  ])("a refused upgrade is websocket_failed detail=%s, and retried", async (detail, url) => {
    const device = await boot({ broker: url(), clientId: uniqueId("ws-refused") });
    const line = await device.waitForCode("websocket_failed");
    expect(line.fields).toMatchObject({ error: "ws", detail });
    await device.waitForLine(/ I mqtt connecting .* attempt=2 /);
    device.expectNames(["websocket_failed"]);
  });
});
