// The drop-in superset of Moddable's mqtt Client, in the real XS engine on the simulator's Host, against real
// brokers (mosquitto and aedes), with MQTT.js as the peer. The device runs an application written for Moddable's
// module (fixtures/app.ts) that the peer drives through its command topic.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { type EmbeddedBroker, startBroker } from "../../hosts/sim/node/broker";
import type { SimDevice } from "../../hosts/sim/node/device";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { simDevices } from "../helpers/sim";

const APP = "test/compat/fixtures/app.ts";
const SELF_RECONNECT = "test/compat/fixtures/self-reconnect.ts";
const EARLY_SUBSCRIBE = "test/compat/fixtures/early-subscribe.ts";
const WAIT_MS = 8000;

const devices = simDevices();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
}

/** An MQTT.js client that keeps every message it receives, to wait on. */
class Peer {
  readonly messages: Received[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      this.messages.push({ topic, payload, qos: packet.qos });
      for (const waiter of this.waiters) waiter();
    });
  }

  static async connect(url: string, version: 4 | 5 = 4, options: IClientOptions = {}): Promise<Peer> {
    const client = await mqtt.connectAsync(url, { protocolVersion: version, reconnectPeriod: 0, ...options });
    cleanups.push(() => client.endAsync(true));
    return new Peer(client);
  }

  async subscribe(prefix: string): Promise<void> {
    await this.client.subscribeAsync([`${prefix}/out/#`, `${prefix}/will`], { qos: 2 });
  }

  /** The first message on `topic` (with `text`, when given), received before or after the call. */
  message(topic: string, text?: string): Promise<Received> {
    const matches = (m: Received) => m.topic === topic && (text === undefined || m.payload.toString() === text);
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(matches);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no message on ${topic}; got ${this.messages.map((m) => m.topic).join(", ")}`));
      }, WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  command(prefix: string, command: object): Promise<unknown> {
    return this.client.publishAsync(`${prefix}/cmd`, JSON.stringify(command), { qos: 1 });
  }
}

interface App {
  device: SimDevice;
  prefix: string;
  id: string;
}

let run = 0;

/**
 * Boots an application against `port`. With the main app, unless `ready` is false, waits until `peer` (subscribed
 * first to its output) sees its retained `ready` message, which it publishes after subscribing to its commands.
 */
async function boot(
  port: number,
  peer: Peer,
  config: Record<string, string> = {},
  entry = APP,
  ready = true,
): Promise<App> {
  const id = `compat-${process.pid}-${++run}`;
  const prefix = `compat/${process.pid}/${run}`;
  await peer.subscribe(prefix);
  const device = await devices.start({
    entry,
    config: { host: "127.0.0.1", port: String(port), id, prefix, ...config },
  });
  if (entry === APP && ready) await peer.message(`${prefix}/out/ready`, "1");
  return { device, prefix, id };
}

/** Waits for serial output written from `from` on to match. */
function serialSince(device: SimDevice, from: number, pattern: RegExp): Promise<RegExpExecArray> {
  return device.waitForSerial(pattern, WAIT_MS, from);
}

async function aedes(port = 0): Promise<EmbeddedBroker> {
  const broker = await startBroker(port);
  cleanups.push(() => broker.kill());
  return broker;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeMosquitto("compat Client against mosquitto", () => {
  let broker: Mosquitto;
  beforeEach(async () => {
    broker = await startMosquitto();
    cleanups.push(() => broker.stop());
  });

  test.each([4, 5] as const)(
    "protocol level %s: onReady, queued early publish, binary onMessage, QoS 0/1/2 reach the peer",
    async (version) => {
      const peer = await Peer.connect(broker.url, version);
      const { device, prefix } = await boot(broker.port, peer, { version: String(version) });
      await device.waitForSerial(/ready 1\n/);

      // Published before onReady from a buffer the app overwrote at once: queued as it was, then sent at QoS 1.
      const early = await peer.message(`${prefix}/out/early`);
      expect([early.payload.toString(), early.qos]).toEqual(["before onReady", 1]);

      const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 255));
      const sum = bytes.reduce((a, b) => a + b, 0);
      await peer.client.publishAsync(`${prefix}/data`, bytes, { qos: 1 });
      await device.waitForSerial(new RegExp(`data true 300 ${sum}\n`), WAIT_MS);
      // The ArrayBuffer body, published back unchanged.
      expect((await peer.message(`${prefix}/out/echo`)).payload).toEqual(bytes);

      for (const qos of [0, 1, 2] as const) {
        await peer.command(prefix, { op: "publish", topic: `${prefix}/out/q${qos}`, text: `at ${qos}`, qos });
        const received = await peer.message(`${prefix}/out/q${qos}`);
        expect([received.payload.toString(), received.qos]).toEqual([`at ${qos}`, qos]);
      }
    },
  );

  test("MQTT 3.1.1, no id, clean: false: never an empty id without a clean session, an id of its own, a line", async () => {
    // [MQTT-3.1.3-7]: mosquitto answers such a CONNECT with CONNACK 2, at every attempt.
    const peer = await Peer.connect(broker.url);
    const { device } = await boot(broker.port, peer, { id: "", clean: "0" });
    const [, id] = await device.waitForSerial(
      /W mqtt warning message="MQTT 3\.1\.1 takes an empty client id with a clean session only .*: using (tether[0-9a-z]{17}), kept in storage"/,
    );
    expect(broker.log()).toContain("New client connected from 127.0.0.1:");
    expect(broker.log()).toMatch(new RegExp(`as ${id} \\(p2, c0,`));
    // No CONNECT with an empty id ("as  (p2, c0"): the word before it, not a made id that happens to end in "as".
    expect(broker.log()).not.toMatch(/ as {1,2}\(p2, c0/);
  });

  test("the will goes out when the device dies and after close(true), not after close(); no onClose", async () => {
    const peer = await Peer.connect(broker.url);
    const killed = await boot(broker.port, peer);
    await killed.device.kill();
    expect((await peer.message(`${killed.prefix}/will`)).payload.toString()).toBe("gone");

    // close(true) closes the socket alone, as Moddable's close(immediate) does: the broker publishes the will.
    const abrupt = await boot(broker.port, peer);
    await peer.command(abrupt.prefix, { op: "close", immediate: true });
    expect((await peer.message(`${abrupt.prefix}/will`)).payload.toString()).toBe("gone");

    // close() sends DISCONNECT: mosquitto logs a disconnection, and discards the will while handling it.
    const polite = await boot(broker.port, peer);
    await peer.command(polite.prefix, { op: "close" });
    for (let waited = 0; !broker.log().includes(`Client ${polite.id} disconnected.`); waited += 50) {
      if (waited > WAIT_MS) throw new Error(`mosquitto never logged the DISCONNECT:\n${broker.log()}`);
      await delay(50);
    }
    expect(peer.messages.filter((m) => m.topic === `${polite.prefix}/will`)).toEqual([]);

    for (const { device } of [abrupt, polite]) {
      await device.waitForSerial(/done close\n/, WAIT_MS);
      expect(device.serialOutput).not.toMatch(/^close /m);
    }
    // Closed for good either way: neither client dialled again (by now the app's backoff would have).
    for (const { id } of [abrupt, polite]) expect(broker.log().split(` as ${id} `)).toHaveLength(2);
  });

  test("after a reconnect, Tether's own resubscription stands in for the app's: a retained message comes once", async () => {
    const peer = await Peer.connect(broker.url);
    const app = await boot(broker.port, peer);
    await peer.client.publishAsync(`${app.prefix}/data`, Buffer.from([1, 2, 3]), { qos: 1, retain: true });
    await app.device.waitForSerial(/data true 3 6\n/, WAIT_MS);

    // Another connection with the device's client id takes the session over: the device reconnects.
    const from = app.device.serialOutput.length;
    const usurper = await mqtt.connectAsync(broker.url, { clientId: app.id, reconnectPeriod: 0 });
    cleanups.push(() => usurper.endAsync(true));
    await peer.message(`${app.prefix}/out/ready`, "2");
    // Messages reach the app in order, so once it has answered this command every retained copy has been seen.
    await peer.command(app.prefix, { op: "publish", topic: `${app.prefix}/out/marker`, text: "", qos: 1 });
    await peer.message(`${app.prefix}/out/marker`);
    expect(app.device.serialOutput.slice(from).match(/data true 3 6\n/g)).toHaveLength(1);
  });

  test("subscribe() before onReady with clean: false goes out though the broker resumes the session", async () => {
    const peer = await Peer.connect(broker.url);
    const id = `compat-${process.pid}-early-sub`;
    const prefix = `compat/${process.pid}/early-sub`;
    const config = { host: "127.0.0.1", port: String(broker.port), id, prefix };
    // A first run leaves a persistent session without the subscription at the broker.
    const first = await devices.start({ entry: EARLY_SUBSCRIBE, config: { ...config, subscribe: "0" } });
    await first.waitForSerial(/ready\n/, WAIT_MS);
    await first.kill();
    // Retained: the broker hands it to the next SUBSCRIBE to the topic, and to nothing else.
    await peer.client.publishAsync(`${prefix}/data`, "hello", { qos: 1, retain: true });
    cleanups.push(() => peer.client.publishAsync(`${prefix}/data`, "", { qos: 1, retain: true }));
    const second = await devices.start({ entry: EARLY_SUBSCRIBE, config: { ...config, subscribe: "1" } });
    await second.waitForSerial(/ready\n/, WAIT_MS);
    await second.waitForSerial(new RegExp(`message ${prefix}/data hello\n`), WAIT_MS);
  });

  test("an exception thrown by a callback is not swallowed, and later messages still arrive", async () => {
    const peer = await Peer.connect(broker.url);
    const { device, prefix } = await boot(broker.port, peer);
    await peer.command(prefix, { op: "throw" });
    await device.waitForSerial(/uncaught exception: .*bug in the application/, WAIT_MS);
    await peer.command(prefix, { op: "publish", topic: `${prefix}/out/after`, text: "still here", qos: 1 });
    expect((await peer.message(`${prefix}/out/after`)).payload.toString()).toBe("still here");
  });
});

const opensslDescribe = existsSync("/usr/bin/openssl") ? describeMosquitto : describe.skip;

opensslDescribe("compat Client over TLS, against mosquitto with a self-signed certificate", () => {
  let broker: Mosquitto;
  let url: string;
  beforeEach(async () => {
    const folder = mkdtempSync(join(tmpdir(), "tether-compat-tls-"));
    cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));
    const [key, cert] = [join(folder, "key.pem"), join(folder, "cert.pem")];
    execFileSync("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
    ]);
    broker = await startMosquitto({
      config: ["certfile cert.pem", "keyfile key.pem"],
      files: { "cert.pem": readFileSync(cert, "utf8"), "key.pem": readFileSync(key, "utf8") },
    });
    cleanups.push(() => broker.stop());
    url = `mqtts://127.0.0.1:${broker.port}`;
  });

  test("secure: {verify: false} connects; secure: true refuses the unknown certificate", async () => {
    const peer = await Peer.connect(url, 4, { rejectUnauthorized: false });
    const unverified = await boot(broker.port, peer, { secure: "noverify" });
    await peer.command(unverified.prefix, { op: "publish", topic: `${unverified.prefix}/out/tls`, text: "ok", qos: 1 });
    expect((await peer.message(`${unverified.prefix}/out/tls`)).payload.toString()).toBe("ok");

    const verified = await boot(broker.port, peer, { secure: "1" }, APP, false);
    await verified.device.waitForSerial(/^close tls_failed\n/m, WAIT_MS);
    expect(peer.messages.filter((m) => m.topic === `${verified.prefix}/out/ready`)).toEqual([]);
  });
});

describe("compat Client against aedes", () => {
  test("onClose when the broker stops, onReady again after it restarts, with its subscriptions", async () => {
    const first = await aedes();
    const { device, prefix } = await boot(first.port, await Peer.connect(first.url));
    const from = device.serialOutput.length;
    await first.stop();
    // A publish made while disconnected is queued (Moddable's module would throw).
    await serialSince(device, from, /^close \w+\npublish queued\n/m);

    const second = await aedes(first.port);
    const peer = await Peer.connect(second.url);
    await peer.subscribe(prefix);
    await peer.message(`${prefix}/out/ready`, "2");
    expect(device.serialOutput.slice(from).match(/^close /gm)).toHaveLength(1);
    await peer.command(prefix, { op: "publish", topic: `${prefix}/out/again`, text: "resubscribed", qos: 2 });
    expect((await peer.message(`${prefix}/out/again`)).payload.toString()).toBe("resubscribed");
  });

  test("reconnect: false keeps Moddable's behaviour: one onClose, publish throws, no reconnect", async () => {
    const first = await aedes();
    const { device } = await boot(first.port, await Peer.connect(first.url), { reconnect: "0" });
    const from = device.serialOutput.length;
    await first.stop();
    await serialSince(device, from, /^close \w+\npublish threw connection closed\n/m);
    await aedes(first.port);
    // Four times the app's longest backoff delay: a client that still dialled would be ready again by then.
    await delay(1600);
    expect(device.serialOutput.slice(from)).not.toMatch(/ready 2/);
  });

  test("an application that makes a new Client in onClose does not end up with two clients fighting", async () => {
    const first = await aedes();
    const { device } = await boot(first.port, await Peer.connect(first.url), {}, SELF_RECONNECT);
    await device.waitForSerial(/ready 1\n/, WAIT_MS);
    const from = device.serialOutput.length;
    await first.stop();
    await serialSince(device, from, /close 1\n/);
    await aedes(first.port);
    await serialSince(device, from, /ready [2-9]\d*\n/);
    // Were an older client still dialling, the broker would hand the client id back and forth between the two and
    // the output would never settle.
    await quiet(device, 1500);
    expect(device.serialOutput.slice(from)).toMatch(/ready ([2-9]|\d\d+)\n$/);
  });
});

/** Resolves once the device has written nothing for `ms`; rejects when it is still writing after 2 * WAIT_MS. */
async function quiet(device: SimDevice, ms: number): Promise<void> {
  let length = -1;
  for (let waited = 0; device.serialOutput.length !== length; waited += ms) {
    if (waited >= 2 * WAIT_MS) throw new Error(`output never settled:\n${device.serialOutput.slice(-2000)}`);
    length = device.serialOutput.length;
    await delay(ms);
  }
}
