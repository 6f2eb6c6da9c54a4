// Runs one chaos plan for real: mosquitto configured from the plan's capabilities, the fault proxy in front of it,
// the firmware in XS (the simulator) behind the proxy, and an MQTT.js peer (the watcher) straight on the broker that
// counts what arrives, sends the remote commands and the inbound messages. Every operation waits for its answer
// (a console line, an event), never for wall-clock time (the plan's `wait` operations are its only pauses); then
// every fault ends, and the record of what happened goes to the invariants (invariants.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { topicMatches } from "tether/mqtt/topic";
import { SimDevice } from "../../hosts/sim/node/device";
import { FaultProxy } from "../rigs/fault-proxy";
import { type Mosquitto, startMosquitto } from "../rigs/mosquitto";
import { type Boot, type Published, type RunRecord, settleBound } from "./invariants";
import { DENIED, describeOp, type Fault, type Op, type Plan, type QoS } from "./plan";

const DEVICE_PASSWORD = "dev-pw";
const WATCHER = { username: "watcher", password: "watcher-pw" };
/** Longest wait for one console answer or event: generous, for a loaded machine; never a bound on the device. */
const ANSWER_MS = 15000;
/** How long the settle waits for the replies to remote publishes, beyond what the device holds (see settle). */
const REPLY_WAIT_MS = 10000;

export interface RunOptions {
  /** Called with progress lines (the operation being run). */
  note?(text: string): void;
}

/** The ACL of a plan with `acl`: the device is denied chaos/deny/, the watcher reads and writes everything. */
function aclFile(): string {
  return ["user watcher", "topic readwrite #", "", "user dev", `topic deny ${DENIED}#`, "topic readwrite #", ""].join(
    "\n",
  );
}

/** Writes `text` so that the console's tokenizer reads it back as one argument, whatever its characters. */
export function consoleArg(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f && ch !== '"' && ch !== "\\") out += ch;
    else if (code > 0xffff) {
      // A pair: each half as its own escape, which the tokenizer joins back.
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    } else
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/** What a message's payload starts with, to count it at the watcher: unique within a run. */
export function tagOf(seed: number, n: number): string {
  return `s${seed}m${n}.`;
}

const TAG = /^s\d+m\d+\./;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Watcher {
  readonly deliveries = new Map<string, number>();
  /** Replies to remote commands, by the correlation data the command carried (a command may run twice). */
  readonly replies = new Map<string, string[]>();
  private constructor(readonly client: MqttClient) {}

  static async start(url: string): Promise<Watcher> {
    // A session of its own that outlives a reconnect: nothing forwarded to it is lost if the broker drops it.
    const client = mqtt.connect(url, {
      ...WATCHER,
      protocolVersion: 5,
      reconnectPeriod: 500,
      clientId: "watcher",
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    client.on("error", () => {});
    const watcher = new Watcher(client);
    client.on("message", (topic, payload, packet) => {
      const text = payload.toString("latin1");
      const tag = TAG.exec(text)?.[0];
      if (tag && !topic.startsWith("inbound/")) watcher.deliveries.set(tag, (watcher.deliveries.get(tag) ?? 0) + 1);
      const correlation = packet.properties?.correlationData;
      if (topic === "chaos-replies" && correlation) {
        const list = watcher.replies.get(correlation.toString()) ?? [];
        list.push(payload.toString());
        watcher.replies.set(correlation.toString(), list);
      }
    });
    const connected = new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    try {
      await withTimeout(connected, ANSWER_MS, "the watcher's connection");
      await withTimeout(client.subscribeAsync("#", { qos: 2 }), ANSWER_MS, "the watcher's subscription");
    } catch (error) {
      client.end(true);
      throw error;
    }
    return watcher;
  }

  /**
   * A round trip through the broker: what it forwarded to the watcher before this is in. `send` publishes the sync
   * message (the watcher's own by default).
   */
  async sync(n: number, qos: QoS, send?: (topic: string) => Promise<void>): Promise<void> {
    const topic = `chaos-sync/${n}`;
    const arrived = new Promise<void>((resolve) => {
      const listener = (t: string) => {
        if (t !== topic) return;
        this.client.off("message", listener);
        resolve();
      };
      this.client.on("message", listener);
    });
    if (send) await send(topic);
    else await this.client.publishAsync(topic, "sync", { qos });
    await withTimeout(arrived, ANSWER_MS, "the sync message at the watcher");
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One run of a plan; `run()` resolves with its record, whatever happened. */
export class ChaosRun {
  private mosquitto!: Mosquitto;
  private proxy!: FaultProxy;
  private watcher!: Watcher;
  private device!: SimDevice;
  private readonly folder = mkdtempSync(join(tmpdir(), "tether-chaos-"));
  private readonly record: RunRecord;
  private linkUp = true;
  /** A fault that swallows bytes on open connections is on (a blackhole, a NAT that forgot them). */
  private swallowing = false;
  /** The broker's password for the device is not the device's. */
  private passwordChanged = false;
  private messages = 0;
  private syncs = 0;
  /** The settings the current boot runs with, read back with `config get` after each boot. */
  private prefix = "tether";
  private remoteAllowed: string[] = [];
  private readonly clientId: string;
  /** The filters the console took in this boot (`sub sent` or `sub saved`) and did not take back. */
  private subscribed = new Set<string>();

  constructor(
    private readonly plan: Plan,
    private readonly options: RunOptions = {},
  ) {
    this.clientId = `chaos-${plan.seed}`;
    this.record = { plan, boots: [], messages: [], deliveries: new Map(), probes: [], opsRun: 0, errors: [] };
  }

  async run(): Promise<RunRecord> {
    try {
      await this.setUp();
      for (const [i, op] of this.plan.ops.entries()) {
        this.options.note?.(`op ${i + 1}/${this.plan.ops.length}: ${describeOp(op)}`);
        this.boot.ops.push(i);
        await this.execute(op);
        this.record.opsRun = i + 1;
        if (!this.device.running) break;
      }
      await this.settle();
    } catch (error) {
      this.record.errors.push(`harness: ${(error as Error).message}`);
    } finally {
      this.record.deliveries = this.watcher?.deliveries ?? new Map();
      this.record.brokerLog = this.mosquitto?.log() ?? "";
      this.boot.output = this.device?.serialOutput ?? "";
      await this.tearDown();
    }
    return this.record;
  }

  private get boot(): Boot {
    return this.record.boots[this.record.boots.length - 1]!;
  }

  private async setUp(): Promise<void> {
    const b = this.plan.broker;
    const config = [`max_inflight_messages ${b.maxInflight}`];
    if (!b.retainAvailable) config.push("retain_available false");
    if (b.maxQos < 2) config.push(`max_qos ${b.maxQos}`);
    if (b.maxPacketSize) config.push(`max_packet_size ${b.maxPacketSize}`);
    if (b.acl) config.push("acl_file acl");
    this.mosquitto = await startMosquitto({
      config,
      users: { dev: DEVICE_PASSWORD, [WATCHER.username]: WATCHER.password },
      files: b.acl ? { acl: aclFile() } : {},
    });
    this.proxy = await FaultProxy.start({ host: "127.0.0.1", port: this.mosquitto.port });
    this.watcher = await Watcher.start(this.mosquitto.url);
    await this.startDevice();
  }

  private async startDevice(): Promise<void> {
    const config = {
      ...this.plan.device,
      broker: `mqtt://127.0.0.1:${this.proxy.port}`,
      clientId: this.clientId,
      mqttUser: "dev",
      mqttPassword: DEVICE_PASSWORD,
    };
    this.subscribed = new Set();
    this.device = await SimDevice.start({
      config,
      storageFile: join(this.folder, "storage.json"),
      linkUp: this.linkUp,
    });
    const boot: Boot = { output: "", ops: [], reconnects: 0, ended: "end", keepsSession: false, version: "3.1.1" };
    this.record.boots.push(boot);
    await this.device.waitForSerial(/^\d+ I app boot /m, ANSWER_MS);
    const settings = await this.command("config get", /^\| password=/m);
    const value = (key: string) => settings.find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1) ?? "";
    this.prefix = value("topicPrefix");
    this.remoteAllowed = value("remoteCommands").split(",");
    boot.version = value("mqttVersion");
    boot.keepsSession = value("cleanSession") === "0" && (boot.version === "3.1.1" || value("sessionExpiry") !== "0");
    // Every packet on serial: what the device really sent (a remote publish's acceptance shows there).
    await this.command("trace on", /^\| (trace on|error)/m);
  }

  /** Types a console line and waits for the console's answer (a line matching `until`); its output lines. */
  private async command(line: string, until = /^\| /m): Promise<string[]> {
    const from = this.device.serialOutput.length;
    this.device.typeLine(line);
    await this.device.waitForSerial(new RegExp(`${until.source}.*\\n`, "m"), ANSWER_MS, from);
    return this.device.serialOutput
      .slice(from)
      .split("\n")
      .filter((l) => l.startsWith("| "))
      .map((l) => l.slice(2));
  }

  private async remote(line: string, correlation?: string): Promise<void> {
    const qos = Math.min(1, this.plan.broker.maxQos) as QoS;
    const options = correlation
      ? { qos, properties: { responseTopic: "chaos-replies", correlationData: Buffer.from(correlation) } }
      : { qos };
    await this.watcher.client.publishAsync(`${this.prefix}/${this.clientId}/cmd`, line, options);
  }

  private async execute(op: Op): Promise<void> {
    switch (op.op) {
      case "pub":
        return this.publish(op);
      case "sub": {
        const [answer = ""] = await this.command(`sub ${consoleArg(op.filter)} ${op.qos}`);
        if (/^sub (sent|saved)/.test(answer)) this.subscribed.add(op.filter);
        return;
      }
      case "unsub": {
        const [answer = ""] = await this.command(`unsub ${consoleArg(op.filter)}`);
        if (/^unsub (sent|saved)/.test(answer)) this.subscribed.delete(op.filter);
        return;
      }
      case "config":
        await this.command(`config set ${op.key} ${consoleArg(op.value)}`);
        return;
      case "reconnect":
        this.boot.reconnects++;
        if (op.via === "serial" || !this.remoteAllowed.includes("reconnect")) await this.command("reconnect");
        else await this.remote("reconnect");
        return;
      case "reboot":
        return this.reboot(op.how);
      case "remote":
        await this.remote(op.command);
        return;
      case "inbound": {
        // Within what the broker takes from the watcher: a refusal would cut the watcher off, not the device.
        const size = this.fits(op.size);
        const qos = Math.min(op.qos, this.plan.broker.maxQos) as QoS;
        for (let i = 0; i < op.count; i++) {
          await this.watcher.client.publishAsync(`inbound/${i % 3}`, `in${i}.${"i".repeat(size)}`, { qos });
        }
        return;
      }
      case "fault":
        return this.fault(op.fault);
      case "heal":
        return this.heal();
      case "password":
        this.mosquitto.setUsers({ dev: "changed-pw", [WATCHER.username]: WATCHER.password });
        this.passwordChanged = true;
        return;
      case "wait":
        await delay(op.ms);
        return;
    }
  }

  private async publish(op: Extract<Op, { op: "pub" }>): Promise<void> {
    const n = ++this.messages;
    const tag = tagOf(this.plan.seed, n);
    const payload = tag + "x".repeat(Math.max(0, op.size - tag.length));
    const message: Published = {
      tag,
      topic: op.topic,
      qos: op.qos,
      retain: op.retain,
      via: op.via,
      boot: this.record.boots.length - 1,
      result: "unknown",
    };
    this.record.messages.push(message);
    const line = `pub ${op.retain ? "-r " : ""}-q ${op.qos} ${consoleArg(op.topic)} ${payload}`;
    if (op.via === "remote" && this.remoteAllowed.includes("pub")) {
      if (this.fits(Buffer.byteLength(line)) < Buffer.byteLength(line)) {
        message.result = "too large for the watcher to send";
        return;
      }
      message.correlation = tag;
      await this.remote(line, tag);
      return;
    }
    message.via = "serial";
    if (line.length > 256) {
      message.result = "too long for the console";
      return;
    }
    const [answer = ""] = await this.command(line);
    message.result = /^pub (\w+)$/.exec(answer)?.[1] ?? answer;
  }

  /** `size` payload bytes, or fewer: what a packet from the watcher may carry under the broker's max_packet_size. */
  private fits(size: number): number {
    const max = this.plan.broker.maxPacketSize;
    return max ? Math.min(size, max - 120) : size;
  }

  private async fault(fault: Fault): Promise<void> {
    const p = this.proxy;
    switch (fault.kind) {
      case "refuse":
        await p.refuse();
        p.resetAll();
        return;
      case "reset":
        p.resetAll();
        return;
      case "blackhole":
        p.blackhole(true);
        this.swallowing = true;
        return;
      case "cut":
        p.cut(fault.bytes, "both");
        return;
      case "natIdle":
        p.natIdle(fault.ms);
        this.swallowing = true;
        return;
      case "connackCut":
        p.connackCut(fault.ms);
        return;
      case "slow":
        p.delay(fault.delay, fault.delay / 2);
        p.throttle(fault.rate);
        return;
      case "linkDown":
        this.linkUp = false;
        this.device.setLink(false);
        return;
    }
  }

  private async heal(): Promise<void> {
    // TCP loses no bytes on a connection that goes on: one whose bytes were swallowed dies (as its retransmissions
    // would have failed) rather than carrying on with a hole in it.
    if (this.swallowing) this.proxy.resetAll();
    this.swallowing = false;
    await this.proxy.passThrough();
    this.linkUp = true;
    this.device.setLink(true);
    if (this.passwordChanged) this.mosquitto.setUsers({ dev: DEVICE_PASSWORD, [WATCHER.username]: WATCHER.password });
    this.passwordChanged = false;
  }

  private async reboot(how: "kill" | "shutdown"): Promise<void> {
    this.boot.ended = how;
    if (how === "kill") await this.device.kill();
    else await this.device.shutdown();
    this.boot.output = this.device.serialOutput;
    await this.startDevice();
  }

  /** Status as the device says it: its state, uptime (its clock) and what it still holds. */
  private async status(): Promise<{ connected: boolean; uptime: number; inflight: number; queued: number }> {
    const lines = await this.command("status", /^\| uptime_ms=/m);
    const text = lines.join(" ");
    const number = (key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(text)?.[1] ?? "-1");
    return {
      connected: /state=connected/.test(text),
      uptime: number("uptime_ms"),
      inflight: number("inflight"),
      queued: number("queued"),
    };
  }

  /**
   * Every fault ends; then, on the device's clock, it must be connected within the bound, and what it holds must
   * reach the broker within the same bound; then a round trip of the watcher's brings in what the broker forwarded.
   */
  private async settle(): Promise<void> {
    if (!this.device.running) return;
    await this.heal();
    const bound = settleBound(this.plan, this.currentKeepAlive());
    const start = await this.status();
    const settle = { healedAt: start.uptime, bound, connectedAt: undefined as number | undefined, drained: false };
    this.record.settle = settle;
    // The wall clock only guards the harness against a device that stopped answering.
    const guard = Date.now() + 3 * bound + 30000;
    // A remote command runs once the broker has read its ack, maybe only on the connection the heal brings: its
    // reply (and what it published) is waited for too, a while (one refused by the budget never gets one).
    const repliesBy = Date.now() + REPLY_WAIT_MS;
    const answered = () =>
      this.record.messages.every((m) => m.correlation === undefined || this.watcher.replies.has(m.correlation));
    for (;;) {
      const s = await this.status();
      if (s.connected && settle.connectedAt === undefined) settle.connectedAt = s.uptime;
      const drained = s.connected && s.inflight === 0 && s.queued === 0;
      if (drained && (answered() || Date.now() > repliesBy)) {
        settle.drained = true;
        break;
      }
      if (s.uptime - start.uptime > bound || Date.now() > guard) {
        settle.drained = drained;
        break;
      }
      await delay(500);
    }
    // Drained, the sync message comes from the device, behind all it sent: the broker reads a client's packets in
    // order, so once the watcher has it, the broker has forwarded what went before, QoS 0 (a QoS 1/2 message
    // downgraded to a broker's Maximum QoS 0 leaves no ack to wait for) included. A sync from the watcher raced them.
    const qos = Math.min(1, this.plan.broker.maxQos) as QoS;
    const fromDevice = async (topic: string) => void (await this.command(`pub ${topic} sync 0`));
    // A connection of the device's that ends meanwhile may lose it: then the watcher's own.
    if (settle.drained) await this.watcher.sync(++this.syncs, qos, fromDevice).catch(() => undefined);
    await this.watcher.sync(++this.syncs, qos);
    if (settle.drained) await this.probeSubscriptions();
    this.boot.output = this.device.serialOutput;
    for (const message of this.record.messages) {
      if (message.correlation) message.replies = this.watcher.replies.get(message.correlation);
    }
  }

  /**
   * The subscriptions the console took in this boot still hold: for each inbound topic one of them matches, a probe
   * from the watcher reaches the device (the trace shows it; its lines are never held back by the rate limit).
   */
  private async probeSubscriptions(): Promise<void> {
    const qos = Math.min(1, this.plan.broker.maxQos) as QoS;
    for (const topic of ["inbound/0", "inbound/1", "inbound/2"]) {
      const filters = [...this.subscribed].filter((filter) => topicMatches(filter, topic));
      if (!filters.length) continue;
      // A probe that met a connection of the device's ending (a remote `reconnect` sent before the settle runs once
      // the broker has read its ack, maybe only now) is lost with it at QoS 0: it says nothing of the subscription,
      // and is sent again, a few times at most.
      let arrived = false;
      for (let tries = 0; !arrived && tries < 3; tries++) {
        const probe = `probe${++this.syncs}.`;
        const from = this.device.serialOutput.length;
        await this.watcher.client.publishAsync(topic, probe, { qos });
        const pattern = new RegExp(
          `^\\d+ I trace in type=PUBLISH .*topic=${topic} .*payload=${probe.replace(".", "\\.")}`,
          "m",
        );
        arrived = await this.device.waitForSerial(pattern, ANSWER_MS, from).then(
          () => true,
          () => false,
        );
        if (!/^\d+ I mqtt connecting /m.test(this.device.serialOutput.slice(from))) break;
      }
      this.record.probes.push({ topic, filters, arrived });
    }
  }

  /** The keep alive the device runs with now (the console's status says it). */
  private currentKeepAlive(): number {
    const match = [...this.device.serialOutput.matchAll(/ keepalive=(\d+)/g)].pop();
    return Number(match?.[1] ?? this.plan.device.keepAlive ?? 60);
  }

  /**
   * Each step bounded, and one that fails or does not end is a harness violation: a 30-minute run once stood still for
   * good between two seeds (its broker up, no device, no connection), with nothing said.
   */
  private async tearDown(): Promise<void> {
    const steps: [string, () => Promise<unknown> | undefined][] = [
      ["the device's kill", () => this.device?.kill()],
      // The watcher's client may end with an error (its broker gone first): only not ending at all is the harness's.
      ["the watcher's end", () => this.watcher?.client.endAsync(true).catch(() => {})],
      ["the fault proxy's close", () => this.proxy?.close()],
      ["the broker's stop", () => this.mosquitto?.stop()],
    ];
    for (const [what, step] of steps) {
      await withTimeout(Promise.resolve(step()), ANSWER_MS, `teardown: ${what}`).catch((error: Error) => {
        this.record.errors.push(`harness: ${error.message}`);
      });
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
