// MQTT over WebSocket on Moddable's simulator: the firmware built with a private CA in its resources fails over
// through two brokers that refuse the upgrade (a fake HTTP server's 404, and mosquitto's plain MQTT port, which
// resets an HTTP request) and names each refusal, then connects with wss:// to mosquitto's WebSocket listener over
// TLS (its certificate file holds the chain: Moddable's TLS checks names only on certificates it walks as part of
// one) and exchanges QoS 1 both ways.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Build, buildTrusting, Mcsim } from "../../tools/rigs/moddable";
import { type Certificates, makeCertificates, OPENSSL } from "../../tools/rigs/tls";
import {
  FAKE_PATHS,
  type FakeWebSocketServer,
  startFakeWebSocketServer,
  startWebSocketMosquitto,
  type WebSocketMosquitto,
} from "../../tools/rigs/websocket";
import { describeMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";

const ID = "mcsim-ws";

describeMosquitto("the firmware over WebSocket in mcsim, against mosquitto's WebSocket listener", () => {
  let certs: Certificates;
  let broker: WebSocketMosquitto;
  let fake: FakeWebSocketServer;
  let app: string;
  let lin: Build;
  let sim: Mcsim;
  beforeAll(async () => {
    if (!OPENSSL) throw new Error("openssl is needed to make the test certificates");
    certs = makeCertificates();
    app = mkdtempSync(join(tmpdir(), "tether-ws-app-"));
    const chain = join(app, "chain.pem");
    writeFileSync(chain, readFileSync(certs.good.cert, "utf8") + readFileSync(certs.ca, "utf8"));
    broker = await startWebSocketMosquitto({ key: certs.good.key, cert: chain });
    fake = await startFakeWebSocketServer();
    const brokers = [
      fake.url(FAKE_PATHS.http_404),
      `ws://127.0.0.1:${broker.mosquitto.port}/mqtt`,
      `wss://127.0.0.1:${broker.wss}/mqtt`,
    ];
    lin = buildTrusting(app, certs.ca, {
      broker: brokers.join(","),
      clientId: ID,
      backoffBase: "200",
      backoffCap: "1000",
    });
    sim = Mcsim.start(lin.library!);
  });
  afterAll(async () => {
    await sim?.kill();
    await fake?.close();
    await broker?.mosquitto.stop();
    lin?.remove();
    if (app) rmSync(app, { recursive: true, force: true });
    certs?.remove();
  });

  test("names each refused upgrade, then connects with wss://", async () => {
    await sim.waitFor(/ I mqtt connected session=\w+/, 60000);
    const named = new Map<number, string>();
    for (const [, port, detail] of sim.output.matchAll(
      / diag websocket_failed broker=127\.0\.0\.1:(\d+) .*?error=ws detail=(\w+)/g,
    )) {
      named.set(Number(port), detail);
    }
    expect(named).toEqual(
      new Map([
        [fake.port, "http_404"],
        [broker.mosquitto.port, "no_response"],
      ]),
    );
  }, 120000);

  test("answers commands at QoS 1 over wss://, never aborts", async () => {
    const operator = await peer(broker.mosquitto.url, "ws-operator");
    await subscribe(operator.client, `tether/${ID}/reply`, 1);
    await sim.waitFor(/ I mqtt subscribed filters=tether\/mcsim-ws\/cmd codes=1/);
    for (let i = 0; i < 20; i++) operator.client.publish(`tether/${ID}/cmd`, "status", { qos: 1 });
    const replies = await operator.waitForCount((m) => m.topic === `tether/${ID}/reply`, 20, 30000);
    for (const reply of replies) expect(reply).toMatchObject({ qos: 1 });
    expect(replies[0].payload).toMatch(/^state=connected .*\nbroker=wss:\/\/127\.0\.0\.1:\d+\/mqtt /s);
    expect(sim.output).not.toMatch(/XS abort|stack overflow/i);
    await operator.client.endAsync(true);
  }, 120000);
});
