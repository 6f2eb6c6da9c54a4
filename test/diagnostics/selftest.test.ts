// The `diag` self-test walks the layers (link, DNS, TCP/TLS, CONNECT, SUBSCRIBE, PUBLISH loopback, PING), each step
// ok or failed with its time, and at the first failure prints the diagnosis. Run against a good broker and against
// each broken layer, every one broken for real where a real broker can break it.

import type { Packet } from "mqtt-packet";
import type { Code } from "tether/diag/codes";
import { failureInfo } from "tether/diag/failures";
import { startDynsec } from "../../tools/rigs/dynsec";
import { type Certificates, makeCertificates, OPENSSL, startTlsFront, type TlsFront } from "../../tools/rigs/tls";
import { describeMosquitto, freePort, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { accept, type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { devices, type Probe, uniqueId } from "./helpers/device";

const boot = devices().boot;
/** A mosquitto where anonymous clients may not `acltype` the self-test's topics. */
const dynsec = (acltype: string) => startDynsec([{ acltype, topic: "tether/+/reply/diag/#" }]);

let good: Mosquitto;
let passwords: Mosquitto;
let noSubscribe: Mosquitto;
let noPublish: Mosquitto;
let certs: Certificates | undefined;
let tls: TlsFront | undefined;
let mute: ScriptedBroker;

beforeAll(async () => {
  [good, passwords, noSubscribe, noPublish] = await Promise.all([
    startMosquitto(),
    startMosquitto({ users: { alice: "alices-password" } }),
    dynsec("subscribePattern"),
    dynsec("publishClientSend"),
  ]);
  if (OPENSSL) {
    certs = makeCertificates();
    tls = await startTlsFront(certs.good, good.port);
  }
  // A broker that does everything but answer PINGREQ: the link goes half-open right at the last step.
  const subscribed = new Set<string>();
  mute = await startScriptedBroker((packet, peer) => {
    if (packet.cmd === "connect") accept(peer);
    if (packet.cmd === "subscribe") {
      for (const s of packet.subscriptions) subscribed.add(s.topic);
      peer.send({ cmd: "suback", messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
    }
    if (packet.cmd === "publish") {
      if (packet.qos === 1) peer.send({ cmd: "puback", messageId: packet.messageId });
      if (subscribed.has(packet.topic)) peer.send({ ...packet, qos: 0, messageId: undefined } as Packet);
    }
  });
});

afterAll(async () => {
  await Promise.all([good, passwords, noSubscribe, noPublish].map((broker) => broker?.stop()));
  await tls?.close();
  await mute?.close();
  certs?.remove();
});

/** Runs `diag` and returns its output once it ends (done, or a diagnosis). */
async function selfTest(device: Probe): Promise<string[]> {
  return device.command("diag", /^(diag done|diagnosis: )/, 10000);
}

/** The walk stopped at `step` with the diagnosis `code`; the steps before it were ok. */
function expectFailure(output: string[], okSteps: string[], step: string, code: Code): void {
  const steps = output.filter((line) => / (ok|failed) \d+ms/.test(line)).map((line) => line.split(" ").slice(1, 3));
  expect(steps).toEqual([...okSteps.map((s) => [s, "ok"]), [step, "failed"]]);
  expect(output[output.length - 1]).toBe(`diagnosis: ${code}: ${failureInfo(code).hint}`);
}

describeMosquitto("diag self-test", () => {
  test.concurrent("against a good broker, by name: every layer ok, in order, with times", async () => {
    const device = await boot({ broker: `mqtt://localhost:${good.port}`, clientId: uniqueId("diag-ok") });
    await device.waitForLine(/ I mqtt connected /);
    const output = await selfTest(device);
    expect(output[0]).toBe(`diag start broker=mqtt://localhost:${good.port}`);
    expect(output.slice(1, -1)).toEqual([
      expect.stringMatching(/^diag link ok \d+ms$/),
      expect.stringMatching(/^diag dns ok \d+ms 127\.0\.0\.1$/),
      expect.stringMatching(/^diag tcp ok \d+ms 127\.0\.0\.1$/),
      expect.stringMatching(/^diag connect ok \d+ms rtt=\d+ms session=new$/),
      expect.stringMatching(/^diag subscribe ok \d+ms granted=1$/),
      expect.stringMatching(/^diag loopback ok \d+ms topic=tether\/diag-ok-\d+-\d+\/reply\/diag\/\d+$/),
      expect.stringMatching(/^diag ping ok \d+ms rtt=\d+ms$/),
    ]);
    expect(output[output.length - 1]).toMatch(/^diag done: every layer ok in \d+ms$/);
    device.expectNames([]);
  });

  test.concurrent("link: the Wi-Fi is down", async () => {
    const device = await boot({ broker: good.url, clientId: uniqueId("diag-link") }, { linkUp: false });
    expectFailure(await selfTest(device), [], "link", "link_down");
    // The device's own client reports the failure on its own schedule, apart from the self-test.
    await device.waitForCode("link_down");
    device.expectNames(["link_down"]);
  });

  test.concurrent("dns: the broker's name does not resolve", async () => {
    const device = await boot({ broker: "mqtt://broker.tether.invalid:1883", clientId: uniqueId("diag-dns") });
    const output = await selfTest(device);
    expectFailure(output, ["link"], "dns", "dns_failed");
    expect(output).toContainEqual(expect.stringMatching(/^diag dns failed \d+ms .*error=dns detail=ENOTFOUND/));
    // The device's own client reports the failure on its own schedule, apart from the self-test.
    await device.waitForCode("dns_failed");
    device.expectNames(["dns_failed"]);
  });

  test.concurrent("tcp: nothing listens on the port", async () => {
    const device = await boot({ broker: `mqtt://127.0.0.1:${await freePort()}`, clientId: uniqueId("diag-tcp") });
    expectFailure(await selfTest(device), ["link", "dns"], "tcp", "tcp_refused");
    // The device's own client reports the failure on its own schedule, apart from the self-test.
    await device.waitForCode("tcp_refused");
    device.expectNames(["tcp_refused"]);
  });

  (OPENSSL ? test.concurrent : test.concurrent.skip)("tls: a certificate from an unknown CA", async () => {
    const device = await boot({ broker: `mqtts://localhost:${tls!.port}`, clientId: uniqueId("diag-tls") });
    const output = await selfTest(device);
    expectFailure(output, ["link", "dns"], "tcp+tls", "tls_failed");
    expect(output).toContainEqual(expect.stringMatching(/^diag tcp\+tls failed \d+ms .*detail=unknown_ca/));
    // The device's own client reports the failure on its own schedule, apart from the self-test.
    await device.waitForCode("tls_failed");
    device.expectNames(["tls_failed"]);
  });

  test.concurrent("connect: a wrong password", async () => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("diag-pw"),
      mqttUser: "alice",
      mqttPassword: "not-alices",
    });
    const output = await selfTest(device);
    expectFailure(output, ["link", "dns", "tcp"], "connect", "bad_credentials");
    expect(output).toContainEqual(expect.stringMatching(/ reason="0x05 Connection Refused, not authorized" user=set$/));
    // The device's own client reports the failure on its own schedule, apart from the self-test.
    await device.waitForCode("bad_credentials");
    device.expectNames(["bad_credentials"]);
  });

  test.concurrent("subscribe: the broker refuses the self-test's subscription", async () => {
    const device = await boot({ broker: noSubscribe.url, clientId: uniqueId("diag-sub") });
    expectFailure(await selfTest(device), ["link", "dns", "tcp", "connect"], "subscribe", "subscribe_denied");
    device.expectNames([]);
  });

  test.concurrent("loopback: MQTT 5, the broker refuses the self-test's message (PUBACK 0x87)", async () => {
    const device = await boot({ broker: noPublish.url, clientId: uniqueId("diag-pub"), mqttVersion: "5" });
    const output = await selfTest(device);
    expectFailure(output, ["link", "dns", "tcp", "connect", "subscribe"], "loopback", "publish_denied");
    expect(output).toContainEqual(expect.stringMatching(/ reason="0x87 Not authorized"$/));
    device.expectNames([]);
  });

  test.concurrent("ping: the broker stops answering at the last step", async () => {
    const device = await boot({ broker: mute.url, clientId: uniqueId("diag-ping"), connackTimeout: "1000" });
    const output = await selfTest(device);
    expectFailure(output, ["link", "dns", "tcp", "connect", "subscribe", "loopback"], "ping", "keepalive_timeout");
    expect(output).toContainEqual(expect.stringMatching(/^diag ping failed \d+ms waited=1000$/));
  });
});
