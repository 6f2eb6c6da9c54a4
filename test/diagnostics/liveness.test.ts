// Liveness: nothing the device is told, stores or meets may hold it in a reconnect loop (issue 20). Each test
// reproduces a loop the device used to fall into, against mosquitto with the firmware in XS, and checks it ends and
// is named: a remote `reconnect` redelivered at every reconnect; subscriptions changed while offline and lost when
// the session resumed; the shutdown's offline status resent at the next boot; a message the broker closes the
// connection on, resent for ever (quarantine); connections that keep ending the same way (the loop detector); and
// dials faster than backoffBase.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type MqttClient } from "mqtt";
import { parseLine } from "tether/diag/log";
import { FaultProxy } from "../../tools/rigs/fault-proxy";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { devices, type Probe, uniqueId } from "./helpers/device";

const boot = devices().boot;
let mosquitto: Mosquitto;
/** A broker that drops a client whose packet is larger than 200 bytes (3.1.1 cannot announce it). */
let small: Mosquitto;
const proxies: FaultProxy[] = [];
const peers: MqttClient[] = [];
const folders: string[] = [];

beforeAll(async () => {
  [mosquitto, small] = await Promise.all([startMosquitto(), startMosquitto({ config: ["max_packet_size 200"] })]);
});

afterAll(async () => {
  await Promise.all(peers.map((p) => p.endAsync(true)));
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([mosquitto?.stop(), small?.stop()]);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const url = (port: number) => `mqtt://127.0.0.1:${port}`;

async function proxy(port = mosquitto.port): Promise<FaultProxy> {
  const started = await FaultProxy.start({ host: "127.0.0.1", port });
  proxies.push(started);
  return started;
}

/** An MQTT.js client of `broker`, connected, that collects the payloads of what it receives by topic. */
async function peer(broker: Mosquitto, clientId: string): Promise<{ client: MqttClient; got: Map<string, string[]> }> {
  const client = connect(broker.url, { clientId, reconnectPeriod: 0 });
  client.on("error", () => {});
  peers.push(client);
  const got = new Map<string, string[]>();
  client.on("message", (topic, payload) => {
    const list = got.get(topic) ?? [];
    list.push(payload.toString());
    got.set(topic, list);
  });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return { client, got };
}

async function until(condition: () => boolean, what: string, ms = 10000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The device's clock (ms since boot) of its log lines that match `pattern`. */
function times(device: Probe, pattern: RegExp): number[] {
  return device
    .lines()
    .filter((line) => pattern.test(line))
    .map((line) => parseLine(line)!.time);
}

/** Asks `status` until no message of the device's is in flight (acknowledged, or dropped). */
async function nothingInFlight(device: Probe): Promise<void> {
  for (let n = 0; !(await device.command("status", /inflight=/)).some((l) => l.includes(" inflight=0 ")); n++) {
    if (n > 50) throw new Error("messages stay in flight");
  }
}

/** A device on `broker` whose command topic runs status, help and reconnect, once it has subscribed to it. */
async function remoteDevice(broker: string, id: string): Promise<Probe> {
  const device = await boot({ broker, clientId: id, remoteCommands: "status,help,reconnect" });
  await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
  return device;
}

/** An operator of device `id` on `broker`, subscribed to its replies: what it sends, and the replies so far. */
async function operatorOf(broker: Mosquitto, id: string) {
  const operator = await peer(broker, `${id}-operator`);
  await operator.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
  return {
    client: operator.client,
    send: (command: string) => operator.client.publishAsync(`tether/${id}/cmd`, command, { qos: 1 }),
    replies: () => operator.got.get(`tether/${id}/reply`) ?? [],
  };
}

/** Connections the broker accepted since boot, from the `stats` command. */
async function accepted(device: Probe): Promise<number> {
  const [line] = await device.command("stats", /conn attempts=/);
  return Number(/ ok=(\d+)/.exec(line!)?.[1]);
}

describeMosquitto("liveness", () => {
  test.concurrent("a remote `reconnect` reconnects once: the command is acknowledged before it acts", async () => {
    const id = uniqueId("remote-reconnect");
    const device = await remoteDevice(mosquitto.url, id);
    const operator = await operatorOf(mosquitto, id);
    const replies = operator.replies;
    await operator.send("reconnect");
    await device.waitForLines(/ I mqtt connected /, 2);
    // A command after it is answered on a connection that stays: the broker did not deliver `reconnect` again.
    await until(() => replies().includes("reconnecting"), "the reply to reconnect");
    await operator.send("status");
    await until(() => replies().some((r) => r.startsWith("state=connected ")), "the reply to status");
    expect(await accepted(device)).toBe(2);
    expect(replies().filter((r) => r === "reconnecting")).toHaveLength(1);
  });

  test.concurrent("a remote command acts once the broker has read its ack, not before (chaos seed 12)", async () => {
    // The reply to `status` (some 250 bytes) is over the 3.1.1 broker's max_packet_size: mosquitto drops the client
    // when it reads it, so the PUBACK of the `reconnect` behind it is never read. Acting at once, the device closed
    // the connection itself (a close of its own: no quarantine, no loop detector) and the broker delivered
    // `reconnect` again at every connection, for ever.
    const id = uniqueId("remote-confirm");
    const device = await remoteDevice(small.url, id);
    const operator = await operatorOf(small, id);
    const replies = operator.replies;
    await operator.send("status");
    await operator.send("reconnect");
    const line = await device.waitForCode("message_quarantined", 40000);
    expect(line.fields).toMatchObject({ topic: `tether/${id}/reply`, closes: "2" });
    await until(() => replies().includes("reconnecting"), "the reply to reconnect", 20000);
    // A message the device receives after it: by then a `reconnect` delivered again would have run again.
    await device.command(`sub ${id}/probe 1`, /sub (sent|saved)/);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/probe `), 20000);
    await operator.client.publishAsync(`${id}/probe`, "after", { qos: 1 });
    await device.waitForLine(new RegExp(` I mqtt message topic=${id}/probe `), 20000);
    expect(replies().filter((r) => r === "reconnecting")).toHaveLength(1);
    expect(await accepted(device)).toBeLessThan(8);
  }, 60000);

  // A command whose connection ends before the broker was known to have read its ack runs once all the same: when the
  // broker did not read the ack (what the device sent is lost) it delivers the command again, which runs; when it did
  // (only the broker's answer is lost) it does not, and the kept command runs on the next connection.
  test.concurrent.each([
    ["up", "the broker delivers it again"],
    ["down", "the broker read its ack"],
  ] as const)(
    "a command whose connection dies before its ack is confirmed runs once (lost %s: %s)",
    async (lost, _meaning) => {
      const id = uniqueId(`remote-unconfirmed-${lost}`);
      const faults = await proxy();
      const device = await remoteDevice(url(faults.port), id);
      await device.command("trace on", /trace on/);
      const operator = await operatorOf(mosquitto, id);
      const replies = operator.replies;
      // Down: the PUBACK and the PINGREQ behind it reach the broker two seconds later, and its answer is swallowed.
      if (lost === "up") faults.blackhole(true, "up");
      else faults.delay(2000);
      await operator.send("reconnect");
      await device.waitForLine(
        new RegExp(` I trace in type=PUBLISH .*topic=tether/${id}/cmd payload=reconnect`),
        20000,
      );
      if (lost === "down") faults.blackhole(true, "down");
      await device.waitForLine(/ W app command_unconfirmed /, 40000);
      faults.blackhole(false);
      faults.delay(0);
      await until(() => replies().includes("reconnecting"), "the reply to reconnect", 20000);
      // A message the device receives after it: by then a `reconnect` run twice would have answered twice.
      await device.command(`sub ${id}/probe 1`, /sub (sent|saved)/);
      await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/probe `), 20000);
      await operator.client.publishAsync(`${id}/probe`, "after", { qos: 1 });
      await device.waitForLine(new RegExp(` I mqtt message topic=${id}/probe `), 20000);
      expect(replies().filter((r) => r === "reconnecting")).toHaveLength(1);
      const dup = device
        .lines()
        .some((l) => new RegExp(` I trace in type=PUBLISH .* dup=1 topic=tether/${id}/cmd `).test(l));
      expect(dup).toBe(lost === "up");
    },
    90000,
  );

  // How far apart the dials are (one per backoffBase at most) is checked on a clock the test owns, on a late loop
  // (test/diag/late-loop.test.ts): here each line's time is read when it is written, after the dial's own reading,
  // and on a loaded machine the simulator's process may wait for the CPU between the two (1000 ms read as 902).
  test.concurrent("the console's `reconnect`, typed again and again, reconnects each time", async () => {
    const id = uniqueId("dial-floor");
    const device = await boot({ broker: mosquitto.url, clientId: id, backoffBase: "1000", backoffCap: "4000" });
    await device.waitForLine(/ I mqtt connected /);
    // Each as soon as the connection before it is up.
    for (let n = 2; n <= 5; n++) {
      await device.command("reconnect", /reconnecting/);
      await device.waitForLines(/ I mqtt connected /, n, 10000);
    }
    expect(times(device, / I mqtt connecting /)).toHaveLength(5);
    device.expectNames([]);
  }, 30000);

  test.concurrent("`sub` and `unsub` made while offline reach a broker that resumes the session", async () => {
    const id = uniqueId("offline-sub");
    const faults = await proxy();
    const device = await boot({ broker: url(faults.port), clientId: id });
    await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
    await device.command(`sub ${id}/old 1`, /sub sent/);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/old `));
    await faults.refuse();
    faults.resetAll();
    await device.waitForCode("tcp_refused");
    await device.command(`sub ${id}/new 1`, /sub saved/);
    await device.command(`unsub ${id}/old`, /unsub/);
    const from = device.output.length;
    await faults.accept();
    await device.waitForLine(/ I mqtt connected session=resumed /, 10000, from);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/new `), 5000, from);
    await device.waitForLine(/ I mqtt unsubscribed /, 5000, from);
    const sender = await peer(mosquitto, `${id}-sender`);
    // In order to one subscriber: once `new` is there, `old` would have been too.
    await sender.client.publishAsync(`${id}/old`, "old", { qos: 1 });
    await sender.client.publishAsync(`${id}/new`, "new", { qos: 1 });
    await device.waitForLine(new RegExp(` I mqtt message topic=${id}/new `), 5000, from);
    expect(device.output.slice(from)).not.toMatch(new RegExp(` I mqtt message topic=${id}/old `));
  });

  test.concurrent("shutdown's offline status is not kept: the next boot resends nothing, online comes last", async () => {
    const id = uniqueId("shutdown");
    const folder = mkdtempSync(join(tmpdir(), "tether-liveness-"));
    folders.push(folder);
    const options = { storageFile: join(folder, "storage.json") };
    const watcher = await peer(mosquitto, `${id}-watcher`);
    await watcher.client.subscribeAsync(`tether/${id}/status`, { qos: 1 });
    const status = () => (watcher.got.get(`tether/${id}/status`) ?? []).map((s) => JSON.parse(s).online as boolean);
    const first = await boot({ broker: mosquitto.url, clientId: id }, options);
    await first.waitForLine(/ I mqtt connected /);
    await until(() => status().includes(true), "online");
    // Nothing in flight: what the next boot could resend is only what shutdown leaves.
    await nothingInFlight(first);
    await first.device.shutdown();
    await until(() => status().at(-1) === false, "offline at shutdown");
    const seen = status().length;
    const second = await boot({ broker: mosquitto.url, clientId: id }, options);
    const connected = await second.waitForLine(/ I mqtt connected /);
    expect(connected).toMatch(/session=resumed/);
    expect(connected).not.toMatch(/resent=/);
    await until(() => status().length > seen, "online after the reboot");
    expect(status().slice(seen)).toEqual([true]);
  });

  test.concurrent("message_quarantined: a message the broker closes the connection on is resent once, then dropped", async () => {
    const id = uniqueId("quarantine");
    const watcher = await peer(small, `${id}-watcher`);
    await watcher.client.subscribeAsync(`${id}/#`, { qos: 1 });
    const device = await boot({ broker: small.url, clientId: id, mqttVersion: "3.1.1" });
    await device.waitForLine(/ I mqtt subscribed /);
    // 230 bytes on the wire: mosquitto drops the client ("disconnected due to oversize packet") without a word.
    await device.command(`pub ${id}/big ${"x".repeat(220)} 1`, /pub sent/);
    const line = await device.waitForCode("message_quarantined", 40000);
    expect(line.fields).toMatchObject({ topic: `${id}/big`, qos: "1", bytes: "220", closes: "2" });
    // A FIN, or a reset when our bytes were still unread: both the broker's close without a word.
    expect(["broker_closed", "tcp_reset"]).toContain(line.fields.reason);
    // The device stays connected and what it publishes next arrives.
    await device.command(`pub ${id}/after small 1`, /pub (sent|queued)/);
    await until(() => (watcher.got.get(`${id}/after`) ?? []).includes("small"), "the message after it");
    expect(device.failures().filter((f) => f.event === "message_quarantined")).toHaveLength(1);
    expect(watcher.got.get(`${id}/big`)).toBeUndefined();
    const [drops] = await device.command("stats", /drops=/);
    expect(drops).toBeDefined();
    device.expectNames(["message_quarantined"], ["broker_closed", "tcp_reset"]);
  }, 20000);

  test.concurrent("a 3.1.1 broker's packet limit is learnt from a quarantine: larger messages are refused, not closed on twice each", async () => {
    // mosquitto's max_packet_size 200 drops the client for a larger packet, unread; 3.1.1 cannot announce it. Each
    // oversized message cost two closes (chaos seed 9042: replies to `help` one after another, never drained).
    const id = uniqueId("learnt-max");
    const device = await boot({ broker: small.url, clientId: id, mqttVersion: "3.1.1" });
    await device.waitForLine(/ I mqtt subscribed /);
    // What the broker read: a QoS 1 message (the status beacon is retained QoS 1 too).
    await device.command(`pub ${id}/small ok 1`, /pub sent/);
    await nothingInFlight(device);
    await device.command(`pub ${id}/big ${"x".repeat(220)} 1`, /pub sent/);
    await device.waitForCode("message_quarantined", 40000);
    const learnt = await device.waitForLine(/ W mqtt warning message=.*packets over \d+ bytes are refused from now on/);
    const [, size, read, over] = /a packet of (\d+) bytes, larger than any it read \((\d+)\).* over (\d+) /.exec(
      learnt,
    )!;
    expect(Number(over)).toBe(Number(size) - 1);
    expect(Number(read)).toBeLessThan(Number(size));
    expect(await device.command(`pub ${id}/big2 ${"y".repeat(220)} 1`, /^pub /)).toEqual(["pub invalid"]);
    await device.command(`pub ${id}/after ok 1`, /pub (sent|queued)/);
    await nothingInFlight(device);
    // Two closes in all: the quarantine's.
    expect(await device.counted(["broker_closed", "tcp_reset"])).toBe(2);
  }, 60000);

  test.concurrent("reconnect_loop: connections cut soon after CONNACK, nothing delivered, are named and backed off", async () => {
    const faults = await proxy();
    faults.connackCut(300);
    const device = await boot({ broker: url(faults.port), clientId: uniqueId("loop"), backoffCap: "4000" });
    const line = await device.waitForCode("reconnect_loop", 40000);
    expect(line.fields).toMatchObject({ cause: "broker_closed", count: "3" });
    // From here the waits grow towards the cap, whatever the cause's policy (FAST: 100 ms base).
    const from = device.output.length;
    await device.waitForLines(/ I mqtt retry .*reconnect loop: growing towards the cap/, 1, 10000);
    const retries = device.logs(from).filter((l) => l.area === "mqtt" && l.event === "retry");
    expect(retries.length).toBeGreaterThan(0);
    // A connection that completes a message of its life is progress, though it ends the same way: the loop ends, and
    // the next one counts from 1 (without progress the count would go on, and be named again at 6).
    faults.connackCut(5000);
    const calm = device.output.length;
    await device.waitForLine(/ I mqtt connected /, 15000, calm);
    await device.command("pub liveness/progress x 1", /pub sent/);
    await nothingInFlight(device);
    faults.connackCut(300);
    const again = await device.waitForCode("reconnect_loop", 30000, 1, calm);
    expect(again.fields).toMatchObject({ cause: "broker_closed", count: "3" });
    device.expectNames(["reconnect_loop", "broker_closed"], ["flapping", "session_taken_over", "tcp_reset"]);
  }, 60000);
});
