// Hostile and poison input against the firmware in XS with a real mosquitto: nothing a peer publishes or an operator
// types halts it. Messages that used to overflow XS's stack (a 5,000-byte command, a 4,000-character topic, a
// 4,000-byte user property) are handled; and when a handler does throw (faults injected by
// fixtures/faulty-host.ts), the top-level guard logs one `E app fault` line, counts it, still acknowledges the
// message so that the broker never delivers it again, and the device goes on.
import { connect, type MqttClient } from "mqtt";
import { devices, type Probe, uniqueId } from "../diagnostics/helpers/device";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";

const boot = devices().boot;
const FAULTY = "test/firmware/fixtures/faulty-host.ts";
let mosquitto: Mosquitto;
const peers: MqttClient[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto();
  await peer();
});

afterAll(async () => {
  await Promise.all(peers.map((p) => p.endAsync(true)));
  await mosquitto?.stop();
});

async function peer(version: 4 | 5 = 4): Promise<MqttClient> {
  const client = connect(mosquitto.url, { reconnectPeriod: 0, protocolVersion: version });
  client.on("error", () => {});
  peers.push(client);
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return client;
}

/** A device connected and subscribed to its command topic and to `extra` (QoS 1). */
async function connected(config: Record<string, string>, extra?: string, entry?: string): Promise<Probe> {
  const device = await boot(config, entry ? { entry } : {});
  await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
  if (extra) await device.command(`sub ${extra} 1`, /sub sent/);
  if (extra) await device.waitForLine(new RegExp(` I mqtt subscribed filters=${extra.replace("#", "\\#")} `));
  return device;
}

function faultLines(device: Probe): string[] {
  return device.lines().filter((line) => / E app fault /.test(line));
}

describeMosquitto("hostile input", () => {
  test.concurrent("a 5,000-byte command and a lone surrogate are answered, and the device goes on", async () => {
    const id = uniqueId("bigcmd");
    const device = await connected({ broker: mosquitto.url, clientId: id });
    const client = await peer();
    await client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    const replies: string[] = [];
    client.on("message", (topic, payload) => topic.endsWith("/reply") && replies.push(payload.toString()));
    const word = "w".repeat(5000);
    await client.publishAsync(`tether/${id}/cmd`, `help ${word}`, { qos: 1 });
    // A reply holding a lone surrogate (the escape makes one): sent with U+FFFD in its place.
    await client.publishAsync(`tether/${id}/cmd`, "x\\ud800", { qos: 1 });
    await client.publishAsync(`tether/${id}/cmd`, "status", { qos: 1 });
    await waitFor(() => replies.length >= 3);
    expect(replies[0]).toBe(`error: no command ${word}`);
    expect(replies[1]).toBe("error: unknown command x\ufffd; type help for the list");
    expect(replies[2]).toMatch(/^state=connected /);
    expect(device.device.running).toBe(true);
    expect(device.output).not.toMatch(/\*\*\*/);
  });

  test.concurrent("the longest topic and a 4,000-byte MQTT 5 user property are taken in", async () => {
    const config = { broker: mosquitto.url, clientId: uniqueId("long"), mqttVersion: "5", maxPacketSize: "100000" };
    const device = await connected(config, "long/#");
    const client = await peer(5);
    // 65,535 bytes of UTF-8, most of it two-byte characters: taken in, and named in a log line of sensible length.
    const topic = `long/${"é".repeat(32763)}tttt`;
    await client.publishAsync(topic, "a", { qos: 1 });
    await client.publishAsync("long/p", "b", { qos: 1, properties: { userProperties: { key: "v".repeat(4000) } } });
    await device.waitForLine(/ I mqtt message topic=long\/p qos=1 bytes=1/);
    expect(Buffer.byteLength(topic)).toBe(65535);
    const shown = `${topic.slice(0, 200)}...(${topic.length})`;
    expect(device.lines().some((line) => line.endsWith(` I mqtt message topic=${shown} qos=1 bytes=1`))).toBe(true);
    expect(device.output).not.toMatch(/\*\*\*/);
    expect(faultLines(device)).toEqual([]);
  });

  test.concurrent("a message whose handling throws is logged, counted, acknowledged once and never redelivered", async () => {
    const device = await connected({ broker: mosquitto.url, clientId: uniqueId("poison") }, "poison/#", FAULTY);
    const client = await peer();
    await client.publishAsync("poison/FAULT", "x".repeat(300), { qos: 1 });
    const line = await device.waitForLine(/ E app fault /);
    expect(line).toMatch(
      / E app fault in=message topic=poison\/FAULT qos=1 bytes=300 error="Error: injected serial fault"$/,
    );
    // Acknowledged: a resumed session gets nothing again, and the next message comes through.
    const from = device.output.length;
    await device.command("reconnect", /reconnecting/);
    await device.waitForLine(/ I mqtt connected session=resumed /, 10000, from);
    await client.publishAsync("poison/ok", "y", { qos: 1 });
    await device.waitForLine(/ I mqtt message topic=poison\/ok qos=1 bytes=1/, 10000, from);
    expect(faultLines(device)).toHaveLength(1);
    expect(await device.command("stats", /^heap /)).toContainEqual("faults total=1 poison=1");
    expect(await device.command("history", /fault/)).toContainEqual(
      expect.stringMatching(/fault in=message Error: injected serial fault/),
    );
  });

  test.concurrent("a socket callback that throws inside the client is reported, and the device goes on", async () => {
    const config = { broker: mosquitto.url, clientId: uniqueId("socket"), beaconInterval: "0" };
    const device = await connected(config, "sock/#", FAULTY);
    await device.command("ARM-WRITE", /unknown command ARM-WRITE/);
    const client = await peer();
    // Its PUBACK is the next write: it throws in the client, under the socket's onData.
    await client.publishAsync("sock/a", "1", { qos: 1 });
    expect(await device.waitForLine(/ E app fault /)).toMatch(
      / E app fault in=socket bytes=\d+ error="Error: injected write fault"$/,
    );
    await client.publishAsync("sock/b", "2", { qos: 0 });
    await device.waitForLine(/ I mqtt message topic=sock\/b qos=0 bytes=1/);
    expect((await device.command("status", /uptime_ms=/))[0]).toMatch(/^state=connected /);
    expect(device.output).not.toMatch(/\*\*\*/);
  });

  test.concurrent("a serial line and a timer tick that throw are reported, and the console still works", async () => {
    const device = await connected({ broker: mosquitto.url, clientId: uniqueId("guard") }, undefined, FAULTY);
    device.device.typeLine("FAULT");
    expect(await device.waitForLine(/ E app fault in=serial /)).toMatch(
      / E app fault in=serial line=FAULT error="Error: injected serial fault"$/,
    );
    device.device.typeLine("ARM-HEAP");
    expect(await device.waitForLine(/ E app fault in=timer /)).toMatch(
      / E app fault in=timer error="RangeError: injected heap fault"$/,
    );
    expect((await device.command("status", /uptime_ms=/))[0]).toMatch(/^state=connected /);
    expect(await device.command("stats", /^heap /)).toContainEqual("faults total=2 poison=0");
    expect(device.output).not.toMatch(/\*\*\*/);
  });
});

async function waitFor(condition: () => boolean, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
