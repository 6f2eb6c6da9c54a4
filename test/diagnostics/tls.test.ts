// TLS failures against mqtts:// front ends of a real mosquitto, with certificates made by openssl at test time: one
// from a CA the device does not trust, one expired, one for another host name. The cause is named on the line.

import {
  type Certificates,
  type KeyPair,
  makeCertificates,
  OPENSSL,
  startTlsFront,
  type TlsFront,
} from "../../tools/rigs/tls";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
let mosquitto: Mosquitto;
let certs: Certificates;
const fronts: TlsFront[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto();
  if (OPENSSL) certs = makeCertificates();
});

afterAll(async () => {
  await Promise.all(fronts.map((front) => front.close()));
  await mosquitto?.stop();
  certs?.remove();
});

async function front(pair: (certs: Certificates) => KeyPair): Promise<string> {
  const started = await startTlsFront(pair(certs), mosquitto.port);
  fronts.push(started);
  return `mqtts://127.0.0.1:${started.port}`;
}

const describeTls = OPENSSL ? describeMosquitto : describe.skip;

describeTls("TLS failures", () => {
  test.concurrent.each<[string, (c: Certificates) => KeyPair, boolean]>([
    ["unknown_ca", (c) => c.good, false],
    ["expired", (c) => c.expired, true],
    ["name_mismatch", (c) => c.otherName, true],
  ])("tls_failed detail=%s", async (detail, pair, trusted) => {
    const broker = await front(pair);
    const device = await boot({ broker, clientId: uniqueId("tls"), ...(trusted ? { brokerCa: certs.ca } : {}) });
    const line = await device.waitForCode("tls_failed");
    expect(line.fields).toMatchObject({ error: "tls", detail });
    device.expectNames(["tls_failed"]);
  });

  test.concurrent("a certificate from the trusted CA, valid and for the right name, connects", async () => {
    const broker = await front((c) => c.good);
    const device = await boot({ broker, clientId: uniqueId("tls-ok"), brokerCa: certs.ca });
    await device.waitForLine(/ I mqtt connected /);
    device.expectNames([]);
  });
});
