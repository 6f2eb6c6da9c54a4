// MQTT over WebSocket, the firmware in the simulator: ws:// and wss:// to mosquitto's WebSocket listener (with an
// MQTT.js peer on its plain listener), and every way an upgrade is refused, named: by mosquitto for real (a plain
// MQTT port), and by a small fake HTTP server for the answers mosquitto never gives (404, a wrong Accept, a wrong or
// missing subprotocol, no answer at all).

import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { type Certificates, makeCertificates, OPENSSL } from "../../tools/rigs/tls";
import { describeMosquitto, freePort, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { type Peer, peer } from "../helpers/peer";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
let mosquitto: Mosquitto;
let ws: number;
let wss: number;
let certs: Certificates | undefined;
let fake: Server;
const sockets = new Set<Socket>();
const peers: Peer[] = [];

/** What the fake server answers, by the request's path. */
function answer(path: string, key: string): string | undefined {
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  const upgrade = (accepted: string, extra: string) =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accepted}\r\n${extra}\r\n`;
  switch (path) {
    case "/missing":
      return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    case "/chat":
      return upgrade(accept, "Sec-WebSocket-Protocol: chat\r\n");
    case "/bare":
      return upgrade(accept, "");
    case "/forged":
      return upgrade("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "Sec-WebSocket-Protocol: mqtt\r\n");
  }
  return undefined; // "/silent": never answers
}

beforeAll(async () => {
  [ws, wss] = [await freePort(), await freePort()];
  if (OPENSSL) certs = makeCertificates();
  // A WebSocket listener needs a plain one beside it in mosquitto 2.0 (the rig's), and binds every address.
  const config = [`listener ${ws} 127.0.0.1`, "protocol websockets"];
  const files: Record<string, string> = {};
  if (certs) {
    config.push(`listener ${wss} 127.0.0.1`, "protocol websockets", "certfile cert.pem", "keyfile key.pem");
    files["cert.pem"] = readFileSync(certs.good.cert, "utf8");
    files["key.pem"] = readFileSync(certs.good.key, "utf8");
  }
  mosquitto = await startMosquitto({ config, files });
  fake = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const path = /^GET (\S+) /.exec(head)?.[1] ?? "";
      const key = /\r\nSec-WebSocket-Key: (\S+)\r\n/i.exec(head)?.[1] ?? "";
      const reply = answer(path, key);
      if (reply !== undefined) socket.end(reply);
      head = "";
    });
  });
  fake.listen(0, "127.0.0.1");
  await once(fake, "listening");
});

afterAll(async () => {
  for (const p of peers) await p.client.endAsync(true);
  for (const socket of sockets) socket.destroy();
  fake?.close();
  await mosquitto?.stop();
  certs?.remove();
});

const fakeUrl = (path: string) => {
  const address = fake.address();
  return `ws://127.0.0.1:${typeof address === "object" && address ? address.port : 0}${path}`;
};

/** The device answers `status` on its command topic, sent by a peer on the plain listener: QoS 1 both ways. */
async function roundTrip(clientId: string): Promise<void> {
  const p = await peer(mosquitto.url, uniqueId("ws-peer"));
  peers.push(p);
  await p.client.subscribeAsync(`tether/${clientId}/#`, { qos: 1 });
  await p.waitFor((m) => m.topic === `tether/${clientId}/status` && m.payload.includes('"online":true'));
  await p.client.publishAsync(`tether/${clientId}/cmd`, "status", { qos: 1 });
  const reply = await p.waitFor((m) => m.topic === `tether/${clientId}/reply`);
  expect(reply.payload).toContain(`broker=ws`);
  expect(reply.qos).toBe(1);
}

describeMosquitto("MQTT over WebSocket", () => {
  test.concurrent("ws:// connects to mosquitto's WebSocket listener and exchanges messages both ways", async () => {
    const clientId = uniqueId("ws");
    const device = await boot({ broker: `ws://127.0.0.1:${ws}/mqtt`, clientId, logLevel: "debug" });
    await device.waitForLine(/ D ws connected ms=\d+/);
    await device.waitForLine(/ I mqtt connected /);
    await roundTrip(clientId);
    device.expectNames([]);
  });

  (OPENSSL ? test.concurrent : test.concurrent.skip)(
    "wss:// connects over TLS with the private CA, and refuses the broker without it",
    async () => {
      const clientId = uniqueId("wss");
      const device = await boot({ broker: `wss://127.0.0.1:${wss}/mqtt`, clientId, brokerCa: certs!.ca });
      await device.waitForLine(/ I mqtt connected /);
      await roundTrip(clientId);
      device.expectNames([]);

      const untrusted = await boot({ broker: `wss://127.0.0.1:${wss}/mqtt`, clientId: uniqueId("wss-ca") });
      const line = await untrusted.waitForCode("tls_failed");
      expect(line.fields).toMatchObject({ error: "tls", detail: "unknown_ca" });
    },
  );

  test.concurrent("the self-test walks the WebSocket upgrade as a step of its own", async () => {
    const device = await boot({ broker: `ws://127.0.0.1:${ws}/mqtt`, clientId: uniqueId("ws-diag") });
    await device.waitForLine(/ I mqtt connected /);
    const output = await device.command("diag", /^(diag done|diagnosis: )/, 10000);
    expect(output[0]).toBe(`diag start broker=ws://127.0.0.1:${ws}/mqtt`);
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

  test.concurrent.each<[string, () => string]>([
    ["no_response", () => `ws://127.0.0.1:${mosquitto.port}/mqtt`], // mosquitto's plain MQTT listener
    ["http_404", () => fakeUrl("/missing")],
    ["subprotocol", () => fakeUrl("/chat")],
    ["no_subprotocol", () => fakeUrl("/bare")],
    ["bad_accept", () => fakeUrl("/forged")],
    ["response_timeout", () => fakeUrl("/silent")],
  ])("a refused upgrade is websocket_failed detail=%s, and retried", async (detail, url) => {
    const device = await boot({ broker: url(), clientId: uniqueId("ws-refused") });
    const line = await device.waitForCode("websocket_failed");
    expect(line.fields).toMatchObject({ error: "ws", detail });
    await device.waitForLine(/ I mqtt connecting .* attempt=2 /);
    device.expectNames(["websocket_failed"]);
  });
});
