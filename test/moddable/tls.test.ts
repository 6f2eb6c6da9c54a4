// mqtts:// on Moddable's simulator: the firmware built with a private CA in its resources, against mosquitto's TLS
// listener (which sends its chain: Moddable's TLS checks names and dates only on certificates it walks as part of
// one), exchanging QoS 1 both ways. The XS stack the library manifest sets is what keeps the handshake's depth,
// with Tether's on top, from aborting the engine. Before it, the device fails over through TLS front ends that are
// each wrong in one way, and names each failure by its cause, where the SDK's own errors say "auth err" for all.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Build, buildTrusting, Mcsim } from "../../tools/rigs/moddable";
import {
  type Certificates,
  type KeyPair,
  makeCertificates,
  OPENSSL,
  startTlsFront,
  type TlsFront,
} from "../../tools/rigs/tls";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";

const ID = "mcsim-tls";

/** A certificate file holding `pair`'s certificate followed by the CA's: a broker that sends its chain. */
function chain(dir: string, pair: KeyPair, ca: string): KeyPair {
  const cert = join(dir, `chain-${pair.cert.split("/").pop()}`);
  writeFileSync(cert, readFileSync(pair.cert, "utf8") + readFileSync(ca, "utf8"));
  return { key: pair.key, cert };
}

describeMosquitto("the firmware over TLS in mcsim, against mosquitto with a private CA", () => {
  let certs: Certificates;
  let stranger: Certificates;
  let broker: Mosquitto;
  const fronts: TlsFront[] = [];
  /** Front end port to the cause the device must name. */
  const expected = new Map<number, string>();
  let app: string;
  let lin: Build;
  let sim: Mcsim;
  beforeAll(async () => {
    if (!OPENSSL) throw new Error("openssl is needed to make the test certificates");
    certs = makeCertificates();
    stranger = makeCertificates();
    broker = await startMosquitto({
      files: {
        "chain.pem": readFileSync(certs.good.cert, "utf8") + readFileSync(certs.ca, "utf8"),
        "key.pem": readFileSync(certs.good.key, "utf8"),
      },
      config: ["certfile chain.pem", "keyfile key.pem"],
    });
    app = mkdtempSync(join(tmpdir(), "tether-tls-app-"));
    const wrong: [KeyPair, string][] = [
      [certs.good, "leaf_only"],
      [chain(app, certs.expired, certs.ca), "expired"],
      [certs.expired, "expired"],
      [chain(app, certs.otherName, certs.ca), "name_mismatch"],
      [chain(app, stranger.good, stranger.ca), "unknown_ca"],
      // The common misconfiguration: a leaf signed by an intermediate, sent without it.
      [certs.underIntermediate, "missing_intermediate"],
    ];
    for (const [pair, cause] of wrong) {
      const front = await startTlsFront(pair, broker.port);
      fronts.push(front);
      expected.set(front.port, cause);
    }
    const brokers = [...expected.keys(), broker.port].map((port) => `mqtts://127.0.0.1:${port}`);
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
    await Promise.all(fronts.map((front) => front.close()));
    await broker?.stop();
    lin?.remove();
    if (app) rmSync(app, { recursive: true, force: true });
    certs?.remove();
    stranger?.remove();
  });

  test("names each broken broker's TLS failure by its cause, then connects to the sound one", async () => {
    await sim.waitFor(/ I mqtt connected session=\w+/, 60000);
    const named = new Map<number, string>();
    for (const [, port, detail] of sim.output.matchAll(/ diag tls_failed broker=127\.0\.0\.1:(\d+) .*?detail=(\w+)/g)) {
      named.set(Number(port), detail);
    }
    expect(named).toEqual(expected);
  }, 120000);

  test("connects over TLS, subscribes, answers commands at QoS 1, never aborts", async () => {
    const operator = await peer(broker.url.replace("mqtt:", "mqtts:"), "tls-operator", {
      ca: readFileSync(certs.ca),
    });
    await subscribe(operator.client, `tether/${ID}/reply`, 1);
    await sim.waitFor(/ I mqtt subscribed filters=tether\/mcsim-tls\/cmd codes=1/);
    for (let i = 0; i < 20; i++) {
      operator.client.publish(`tether/${ID}/cmd`, "status", { qos: 1 });
    }
    const replies = await operator.waitForCount((m) => m.topic === `tether/${ID}/reply`, 20, 30000);
    for (const reply of replies) expect(reply).toMatchObject({ qos: 1 });
    expect(replies[0].payload).toMatch(/^state=connected .*\nbroker=mqtts:\/\/127\.0\.0\.1:/s);
    expect(sim.output).not.toMatch(/XS abort|stack overflow/i);
    await operator.client.endAsync(true);
  }, 120000);
});
