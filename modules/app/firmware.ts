// The firmware: reads the settings, keeps the client connected, publishes the status beacon, answers commands
// on the serial console and on its command topic, and says on serial what goes wrong and why.
import { toBytes, toText } from "tether/app/bytes";
import { commands } from "tether/app/commands";
import { Settings } from "tether/app/settings";
import { type BackoffConfig, DEFAULT_JITTER } from "tether/client/backoff";
import { parseBrokers } from "tether/client/broker";
import { Client, type ClientConfig, type ClientEvent } from "tether/client/client";
import { KeepAliveTuner, TUNER_DEFAULTS } from "tether/client/keepalive-tuner";
import { type Code, failureInfo } from "tether/diag/codes";
import { execute } from "tether/diag/console";
import { classifyCause, Diagnoser, type Finding } from "tether/diag/diagnose";
import { History } from "tether/diag/history";
import { ERROR, type Fields, INFO, type Level, Logger, levelFromName, WARN } from "tether/diag/log";
import { Stats } from "tether/diag/stats";
import type { Host, Timer } from "tether/host";
import type { Packet } from "tether/mqtt/packets";

/** Heap use above this fraction of the total is reported as low_memory. */
const LOW_MEMORY = 0.9;
const TUNER_KEY = "ka.tuner";

/** Everything the console commands and the self-test need to reach. */
export interface Device {
  host: Host;
  settings: Settings;
  log: Logger;
  stats: Stats;
  history: History;
  client: Client | undefined;
  tuner: KeepAliveTuner;
  clientId: string;
  topics: { status: string; cmd: string; reply: string };
  bootedAt: number;
  /** The last failure found, for `status`. */
  lastFailure: Finding | undefined;
}

export function start(host: Host, config: Record<string, string>): Device {
  const settings = new Settings(
    config,
    (key) => host.readSetting(key),
    (key, value) => host.writeSetting(key, value),
  );
  const log = new Logger(
    (line) => host.serialWrite(`${line}\n`),
    () => host.now(),
    levelFromName(settings.get("logLevel")) ?? INFO,
  );
  for (const secret of ["mqttPassword", "password"]) log.addSecret(settings.get(secret));
  const history = new History({ read: (k) => host.readSetting(k), write: (k, v) => host.writeSetting(k, v) });
  const clientId = settings.get("clientId") || `tether-${host.deviceId}`;
  const prefix = `${settings.get("topicPrefix")}/${clientId}`;
  const keepAlive = settings.number("keepAlive");
  const tuner = new KeepAliveTuner({ keepAlive, ...TUNER_DEFAULTS });
  const saved = host.readSetting(TUNER_KEY);
  if (saved) tuner.restore(saved);
  const device: Device = {
    host,
    settings,
    log,
    stats: new Stats(),
    history,
    client: undefined,
    tuner,
    clientId,
    topics: { status: `${prefix}/status`, cmd: `${prefix}/cmd`, reply: `${prefix}/reply` },
    bootedAt: host.now(),
    lastFailure: undefined,
  };
  log.info("app", "boot", { platform: host.platform, client_id: clientId, boot: history.boot });
  history.add(host.now(), "boot", `${host.platform} ${clientId}`);

  const config_ = clientConfig(settings, clientId, device.topics.status, tuner.keepAlive);
  if (typeof config_ === "string") {
    // Stay up with the console working, so the setting can be fixed in place.
    log.error("app", "config_error", { error: config_, fix: "config set <key> <value>, then reconnect" });
  } else {
    const diagnoser = new Diagnoser(
      {
        version: config_.version,
        sentUser: config_.username !== undefined,
        shortLived: settings.number("backoffStable"),
        repeats: 3,
      },
      (finding) => failure(device, finding),
    );
    const client = new Client(host, config_, (event) => {
      diagnoser.observe(event);
      clientEvent(device, event);
    });
    device.client = client;
    client.subscribe({ topicFilter: device.topics.cmd, qos: 1 });
    log.info("mqtt", "config", {
      broker: settings.get("broker"),
      version: settings.get("mqttVersion"),
      keepalive: tuner.keepAlive,
      user: config_.username ? "set" : "none",
    });
    client.start();
  }

  let beacon: Timer | undefined;
  const beaconEvery = settings.number("beaconInterval") * 1000;
  const tick = () => {
    beacon = host.setTimer(beaconEvery || 30000, tick);
    housekeeping(device);
    if (beaconEvery && device.client?.connected) publishStatus(device, true);
  };
  beacon = host.setTimer(beaconEvery || 30000, tick);

  host.listen({
    onSerialLine(line) {
      execute(commands(device), line, (text) => host.serialWrite(`${text}\n`));
    },
    onLink(up) {
      device.client?.linkChanged(up);
      if (up) log.info("link", "up");
    },
    onShutdown() {
      if (beacon) host.clearTimer(beacon);
      const client = device.client;
      if (client?.connected) publishStatus(device, false);
      client?.stop("shutdown");
      log.info("app", "shutdown");
    },
  });
  return device;
}

/** Turns the settings into the client's configuration, or the first error as one line. */
function clientConfig(
  settings: Settings,
  clientId: string,
  statusTopic: string,
  keepAlive: number,
): ClientConfig | string {
  const errors = settings.errors();
  if (errors.length) return errors.join("; ");
  const brokers = parseBrokers(settings.get("broker"));
  if (typeof brokers === "string") return brokers;
  const user = settings.get("mqttUser");
  const password = settings.get("mqttPassword");
  const version = settings.get("mqttVersion") === "5" ? 5 : 4;
  const backoff: BackoffConfig = {
    base: settings.number("backoffBase"),
    cap: settings.number("backoffCap"),
    stable: settings.number("backoffStable"),
    jitter: DEFAULT_JITTER,
  };
  return {
    brokers,
    clientId,
    version,
    keepAlive,
    username: user || undefined,
    password: password ? toBytes(password) : undefined,
    will: { topic: statusTopic, payload: toBytes('{"online":false}'), qos: 1, retain: true },
    cleanStart: settings.get("cleanSession") === "1",
    sessionExpiry: settings.number("sessionExpiry"),
    maxPacketSize: settings.number("maxPacketSize"),
    connectTimeout: settings.number("connectTimeout"),
    connackTimeout: settings.number("connackTimeout"),
    backoff,
    queue: { count: settings.number("queueCount"), bytes: settings.number("queueBytes") },
    classify: (cause) => classifyCause(cause, version, user !== ""),
  };
}

function clientEvent(device: Device, event: ClientEvent): void {
  const { log, stats, host, history } = device;
  const now = host.now();
  switch (event.type) {
    case "connecting":
      stats.attempt();
      log.info("mqtt", "connecting", {
        broker: `${event.broker.tls ? "mqtts" : "mqtt"}://${event.broker.host}:${event.broker.port}`,
        attempt: event.attempt,
      });
      return;
    case "resolved":
      log.debug("dns", "resolved", { host: event.broker.host, address: event.address });
      return;
    case "socket":
      log.debug(event.broker.tls ? "tls" : "tcp", "connected", { ms: event.ms });
      return;
    case "connected":
      stats.connected(now, event.rtt);
      device.tuner.connected(now);
      log.info("mqtt", "connected", {
        session: event.sessionPresent ? "resumed" : "new",
        keepalive: event.keepAlive,
        rtt: event.rtt,
        requeued: event.requeued || undefined,
      });
      history.add(now, "connected", `rtt=${event.rtt}ms`);
      publishStatus(device, true);
      return;
    case "closed": {
      if (event.cause.kind === "local") {
        stats.closed(now);
        log.info("mqtt", "closed", { reason: event.cause.reason });
        return;
      }
      const code = device.lastFailure?.code ?? "broker_closed";
      stats.failed(now, code);
      const idle = event.cause.kind === "keepalive_timeout" ? event.idle - event.cause.waited : event.idle;
      const change = event.uptime >= 0 ? device.tuner.ended(now, code, idle) : undefined;
      if (change) {
        host.writeSetting(TUNER_KEY, device.tuner.serialize());
        device.client?.setKeepAlive(device.tuner.keepAlive);
        log.warn("keepalive", "tuned", { change });
        const evidence = device.tuner.natIdleTimeoutSuspected;
        if (evidence) {
          failure(device, {
            code: "nat_idle_timeout_suspected",
            fields: {
              idle_s: evidence.idle.map((ms) => Math.round(ms / 1000)).join("/"),
              keepalive: evidence.keepAlive,
              configured: evidence.configured,
            },
          });
        }
      }
      return;
    }
    case "waiting":
      if (event.delay < 0) log.warn("link", "waiting", { reason: event.reason });
      else log.info("mqtt", "retry", { in_ms: Math.round(event.delay), reason: event.reason });
      return;
    case "message":
      stats.received(event.publish.qos, event.publish.payload.length);
      if (event.publish.topic === device.topics.cmd) remoteCommand(device, event.publish.payload);
      else
        log.info("mqtt", "message", {
          topic: event.publish.topic,
          qos: event.publish.qos,
          bytes: event.publish.payload.length,
        });
      return;
    case "pong":
      stats.pingRtt(event.rtt);
      log.debug("keepalive", "pong", { rtt: event.rtt });
      return;
    case "queued":
      stats.queue(event.depth);
      if (event.result !== "queued") stats.dropped();
      return;
    case "subscribed":
      log.info("mqtt", "subscribed", { filters: event.topicFilters.join(","), codes: event.reasonCodes.join(",") });
      return;
    case "warning":
      log.warn("mqtt", "warning", { message: event.message });
      return;
    case "packet":
      log.log(INFO, "trace", event.direction, packetFields(event.packet, event.size));
      return;
  }
}

/** A failure line: `diag <code>` with its facts and the hint; kept in the history. */
function failure(device: Device, finding: Finding): void {
  device.lastFailure = finding;
  const info = failureInfo(finding.code);
  const level: Level = info.layer === "auth" || info.layer === "tls" ? ERROR : WARN;
  device.log.log(level, "diag", finding.code, { ...finding.fields, hint: info.hint });
  device.history.add(device.host.now(), finding.code, summary(finding.fields));
}

function summary(fields: Fields): string {
  let text = "";
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined && key !== "hint") text += `${text ? " " : ""}${key}=${value}`;
  }
  return text;
}

/** Periodic work: heap check, log rate-limit flush. */
function housekeeping(device: Device): void {
  const { host, stats, log } = device;
  const heap = host.heap();
  stats.heap(heap.used, heap.peak);
  log.tick(host.now());
  if (heap.total && heap.used > heap.total * LOW_MEMORY) {
    failure(device, { code: "low_memory" as Code, fields: { used: heap.used, total: heap.total } });
  }
}

export function publishStatus(device: Device, online: boolean): void {
  const now = device.host.now();
  const body = online
    ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used })
    : '{"online":false}';
  device.client?.publish(device.topics.status, toBytes(body), 1, true);
}

/**
 * A command arrived on the command topic: run it like a console line and publish its output on the reply topic,
 * what it prints at once as one message, anything it prints later (the self-test) line by line.
 */
function remoteCommand(device: Device, payload: Uint8Array): void {
  const reply = (text: string) => device.client?.publish(device.topics.reply, toBytes(text), 1, false);
  let pending: string[] | undefined = [];
  const out = (text: string) => (pending ? pending.push(text) : reply(text));
  const line = toText(payload);
  if (line === undefined) out("error: command is not valid UTF-8");
  else execute(commands(device), line, out);
  const lines = pending;
  pending = undefined;
  reply(lines.join("\n"));
}

export function packetFields(packet: Packet, size: number): Fields {
  const p = packet as unknown as Record<string, unknown>;
  const fields: Record<string, string | number | boolean | undefined> = { type: PACKET_NAMES[packet.type], size };
  if (typeof p.packetId === "number") fields.id = p.packetId;
  if (typeof p.qos === "number") fields.qos = p.qos;
  if (p.dup) fields.dup = 1;
  if (p.retain) fields.retain = 1;
  if (typeof p.topic === "string") fields.topic = p.topic;
  if (typeof p.reasonCode === "number") fields.rc = p.reasonCode;
  if (p.payload instanceof Uint8Array) fields.payload = preview(p.payload);
  // CONNECT: never its password, and only whether a user name was sent.
  if (typeof p.clientId === "string") {
    fields.client_id = p.clientId;
    fields.user = p.username ? "set" : "none";
    fields.keepalive = p.keepAlive as number;
  }
  return fields;
}

const PACKET_NAMES = [
  "",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
];

const PREVIEW = 32;

/** The first bytes of a payload as text when they are text, else as hex. */
function preview(payload: Uint8Array): string {
  const head = payload.subarray(0, PREVIEW);
  const text = toText(head);
  let shown = "";
  if (text !== undefined && !hasControl(text)) shown = text;
  else for (const b of head) shown += (b < 16 ? "0" : "") + b.toString(16);
  return payload.length > PREVIEW ? `${shown}...(${payload.length})` : shown;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 32) return true;
  return false;
}
