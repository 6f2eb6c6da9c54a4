// Several brokers: the device fails over when one dies, and follows an MQTT 5 Server Reference (use another
// server, server moved). No real broker sends a Server Reference, so a scripted fake broker plays that one part.

import type { FaultProxy } from "../../tools/rigs/fault-proxy";
import { accept, type Script, type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { simDevices } from "../helpers/sim";
import {
  BROKERS,
  command,
  connections,
  deviceConfig,
  logLines,
  proxyTo,
  startTestBroker,
  type TestBroker,
} from "./harness";

const devices = simDevices();
const proxies: FaultProxy[] = [];
const fakes: ScriptedBroker[] = [];
let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker(BROKERS[0]!);
});
afterAll(() => broker.stop());
afterEach(async () => {
  await Promise.all([...proxies.splice(0), ...fakes.splice(0)].map((p) => p.close()));
});

/** The broker the device says it uses, from `status`. */
async function brokerOf(device: Awaited<ReturnType<typeof devices.start>>): Promise<string> {
  const [, url] = await command(device, "status", /broker=(\S+)/);
  return url!;
}

test("two brokers: when the first dies the device goes to the second", async () => {
  const [a, b] = [await proxyTo(broker.port, proxies), await proxyTo(broker.port, proxies)];
  const device = await devices.start({
    broker: `mqtt://127.0.0.1:${a.port}, mqtt://127.0.0.1:${b.port}`,
    config: deviceConfig("failover"),
  });
  await connections(device, 1);
  expect(await brokerOf(device)).toBe(`mqtt://127.0.0.1:${a.port}`);
  await a.refuse();
  a.resetAll();
  await connections(device, 2);
  expect(await brokerOf(device)).toBe(`mqtt://127.0.0.1:${b.port}`);
  expect(b.accepted).toBe(1);
});

test("the first broker down at boot: the second is tried next, not the dead one again", async () => {
  const [a, b] = [await proxyTo(broker.port, proxies), await proxyTo(broker.port, proxies)];
  await a.refuse();
  const device = await devices.start({
    broker: `mqtt://127.0.0.1:${a.port},mqtt://127.0.0.1:${b.port}`,
    config: deviceConfig("failover-boot"),
  });
  const { attempts } = await connections(device, 1);
  expect(attempts).toBe(2);
  expect(await brokerOf(device)).toBe(`mqtt://127.0.0.1:${b.port}`);
});

describe("MQTT 5 Server Reference", () => {
  const mosquittoOnly = BROKERS[0] === "mosquitto" ? test : test.skip;

  async function redirected(script: Script, name: string) {
    const fake = await startScriptedBroker(script);
    fakes.push(fake);
    const device = await devices.start({
      broker: fake.url,
      config: deviceConfig(name, { mqttVersion: "5" }),
    });
    await connections(device, 1);
    expect(await brokerOf(device)).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(fake.received[0]).toMatchObject({ id: 1, packet: { cmd: "connect", protocolVersion: 5, clientId: name } });
    return device;
  }

  // aedes speaks 3.1.1 only: the target must be mosquitto.
  mosquittoOnly("DISCONNECT 0x9C (use another server) after CONNACK: the device goes there", async () => {
    const device = await redirected((packet, peer) => {
      if (packet.cmd !== "connect") return;
      accept(peer);
      peer.send({ cmd: "disconnect", reasonCode: 0x9c, properties: { serverReference: `127.0.0.1:${broker.port}` } });
      peer.close();
    }, "redirect-disconnect");
    const [retry] = logLines(device, "mqtt", "retry");
    expect(retry!.fields.reason).toMatch(`server reference 127.0.0.1:${broker.port}`);
  });

  mosquittoOnly("a reference lists servers: each is tried in turn until one takes the device", async () => {
    // Nothing listens on port 1: refused, then the next entry.
    const device = await redirected((packet, peer) => {
      if (packet.cmd !== "connect") return;
      const serverReference = `127.0.0.1:1 127.0.0.1:${broker.port}`;
      peer.send({ cmd: "connack", reasonCode: 0x9c, sessionPresent: false, properties: { serverReference } });
      peer.close();
    }, "redirect-list");
    const reasons = logLines(device, "mqtt", "retry").map((line) => line.fields.reason);
    expect(reasons).toEqual([
      expect.stringMatching(/server reference 127\.0\.0\.1:1 /),
      expect.stringMatching(
        new RegExp(`^tcp_refused at 127\\.0\\.0\\.1:1: next server reference 127\\.0\\.0\\.1:${broker.port} `),
      ),
    ]);
  });

  mosquittoOnly("a server the device was redirected to may redirect it again: followed too", async () => {
    const second = await startScriptedBroker((packet, peer) => {
      if (packet.cmd !== "connect") return;
      const serverReference = `127.0.0.1:${broker.port}`;
      peer.send({ cmd: "connack", reasonCode: 0x9d, sessionPresent: false, properties: { serverReference } });
      peer.close();
    });
    fakes.push(second);
    const device = await redirected((packet, peer) => {
      if (packet.cmd !== "connect") return;
      const serverReference = `127.0.0.1:${second.port}`;
      peer.send({ cmd: "connack", reasonCode: 0x9c, sessionPresent: false, properties: { serverReference } });
      peer.close();
    }, "redirect-twice");
    expect(second.accepted).toBe(1);
    expect(logLines(device, "diag", "server_moved").length).toBe(2);
  });

  mosquittoOnly("CONNACK 0x9D (server moved) with a reference: the device goes there", async () => {
    const device = await redirected((packet, peer) => {
      if (packet.cmd !== "connect") return;
      peer.send({
        cmd: "connack",
        reasonCode: 0x9d,
        sessionPresent: false,
        properties: { serverReference: `127.0.0.1:${broker.port}` },
      });
      peer.close();
    }, "redirect-connack");
    expect(logLines(device, "diag", "server_moved").length).toBe(1);
  });
});
