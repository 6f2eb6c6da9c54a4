// The firmware: reads the settings, keeps the client connected, publishes the status beacon, answers commands
// on the serial console and on its command topic, and says on serial what goes wrong and why.
import { toBytes, toText } from "tether/app/bytes";
import { COMMANDS, isCommand } from "tether/app/commands";
import { Settings } from "tether/app/settings";
import { type BackoffConfig, DEFAULT_JITTER, validateBackoff } from "tether/client/backoff";
import { brokerName, parseBrokers } from "tether/client/broker";
import { Client, type ClientConfig, type ClientEvent, type PublishResult } from "tether/client/client";
import { KeepAliveTuner, TUNER_DEFAULTS, validateTuner } from "tether/client/keepalive-tuner";
import { failureInfo, failureLevel } from "tether/diag/codes";
import { type Command, execute, tokenize } from "tether/diag/console";
import { classifyCause, Diagnoser, type Finding } from "tether/diag/diagnose";
import { History } from "tether/diag/history";
import { DEBUG, type Fields, INFO, isSecretKey, Logger, levelFromName } from "tether/diag/log";
import { Stats } from "tether/diag/stats";
import type { Host, HostEvents, NetError, SocketHandlers, Timer } from "tether/host";
import { frozen } from "tether/mqtt/frozen";
import {
  PACKET_NAMES,
  type Packet,
  type Properties,
  type ProtocolVersion,
  PUBREC,
  type Publish,
  type QoS,
} from "tether/mqtt/packets";
import { reasonText } from "tether/mqtt/reasons";

/** Heap use above this fraction of the limit is reported as low_memory; below the second, it has recovered. */
const LOW_MEMORY = 0.9;
const RECOVERED = 0.8;
const TUNER_KEY = "ka.tuner";
/** Period of the housekeeping (heap check, rate-limit summaries), ms. */
const HOUSEKEEPING = 1000;
/**
 * How console output is told apart from log lines on the serial port: every line a command prints starts with
 * this, while log lines start with their uptime (parseLine in diag/log reads them). Replies on the command topic
 * carry the output without it.
 */
export const OUTPUT_PREFIX = "| ";

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
  /** Whether low_memory has been reported and the heap has not recovered since. */
  lowMemory: boolean;
  /** The commands the command topic may run (the setting remoteCommands); undefined when the remote console is off. */
  remoteCommands: readonly string[] | undefined;
  /** True while a command from the command topic runs: settings that decide who controls the device are refused. */
  remote: boolean;
  /** MQTT 5 properties of every message the device publishes (the message expiry), made once. */
  properties: Properties | undefined;
}

export function start(host: Host, config: Record<string, string>): Device {
  // The host is handed over as the storage itself: an adapter of closures would live on the heap for good.
  const settings = new Settings(config, host);
  const log = new Logger(
    (line) => host.serialWrite(`${line}\n`),
    () => host.now(),
    levelFromName(settings.get("logLevel")) ?? INFO,
  );
  for (const secret of ["mqttPassword", "password"]) log.addSecret(settings.get(secret));
  const history = new History(host);
  const clientId = settings.get("clientId") || `tether-${host.deviceId}`;
  const prefix = `${settings.get("topicPrefix")}/${clientId}`;
  const keepAlive = settings.number("keepAlive");
  const tuner = new KeepAliveTuner({ ...TUNER_DEFAULTS, keepAlive, min: settings.number("keepAliveMin") });
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
    lowMemory: false,
    remoteCommands: remoteNames(settings.get("remoteCommands"), log),
    remote: false,
    properties: messageProperties(settings),
  };
  device.host = guardSockets(device);
  log.info("app", "boot", { platform: host.platform, client_id: clientId, boot: history.boot });
  history.add(host.now(), "boot", `${host.platform} ${clientId}`);

  const config_ = clientConfig(settings, clientId, device.topics.status, tuner.keepAlive);
  if (typeof config_ === "string") {
    // Stay up with the console working, so the setting can be fixed in place.
    log.error("app", "config_error", { error: config_, fix: "config set <key> <value>, then reboot" });
  } else {
    const diagnoser = new Diagnoser(
      {
        version: config_.version,
        sentUser: config_.username !== undefined,
        shortLived: settings.number("backoffStable"),
        repeats: 3,
        keepsSession: !config_.cleanStart && (config_.version === 4 || config_.sessionExpiry > 0),
        // The tuner acts on idle deaths from here up and names them itself.
        tunerIdle: tuner.minIdle,
      },
      (finding) => failure(device, finding),
    );
    const client = new Client(device.host, config_, (event) => {
      // The guard sits here, inside the client: a message is acknowledged after this returns, so an exception
      // would leave it unacknowledged and the broker would deliver it again, and again after every reboot.
      try {
        diagnoser.observe(event);
        clientEvent(device, event, config_.classify);
      } catch (error) {
        if (event.type === "message") {
          const { topic, qos, retain, payload } = event.publish;
          fault(device, "message", error, {
            topic: clip(topic),
            qos,
            retain: retain ? 1 : undefined,
            bytes: payload.length,
          });
        } else fault(device, event.type, error);
      }
    });
    device.client = client;
    if (device.remoteCommands) client.subscribe({ topicFilter: device.topics.cmd, qos: 1 });
    log.info("mqtt", "config", {
      broker: settings.get("broker"),
      version: settings.get("mqttVersion"),
      keepalive: tuner.keepAlive,
      user: config_.username ? "set" : "none",
    });
    client.start();
  }

  host.listen(new Events(device));
  return device;
}

/**
 * The host's events and the periodic work. Methods of one object rather than closures: each closure would stay
 * on the heap for as long as the device runs (the timer's callback is the one left).
 */
class Events implements HostEvents {
  private readonly device: Device;
  private readonly beaconEvery: number;
  private beaconAt: number;
  private readonly timer: Timer;
  private readonly tick = (): void => {
    const { device } = this;
    this.timer.schedule(HOUSEKEEPING);
    try {
      housekeeping(device);
      if (this.beaconEvery && device.host.now() >= this.beaconAt) {
        this.beaconAt = device.host.now() + this.beaconEvery;
        if (device.client?.connected) publishStatus(device, true);
      }
    } catch (error) {
      fault(device, "timer", error);
    }
  };

  constructor(device: Device) {
    this.device = device;
    this.beaconEvery = device.settings.number("beaconInterval") * 1000;
    this.beaconAt = device.host.now() + this.beaconEvery;
    this.timer = device.host.timer(this.tick);
    this.timer.schedule(HOUSEKEEPING);
  }

  onSerialLine(line: string): void {
    const { host } = this.device;
    try {
      execute(COMMANDS, line, (text) => host.serialWrite(`${OUTPUT_PREFIX}${text}\n`), this.device);
    } catch (error) {
      fault(this.device, "serial", error, { line: clip(line) });
    }
  }

  onLink(up: boolean): void {
    try {
      this.device.client?.linkChanged(up);
      if (up) this.device.log.info("link", "up");
    } catch (error) {
      fault(this.device, "link", error);
    }
  }

  onShutdown(): void {
    const { client, log } = this.device;
    this.timer.cancel();
    try {
      if (client?.connected) publishStatus(this.device, false);
      client?.stop("shutdown");
      log.info("app", "shutdown");
    } catch (error) {
      fault(this.device, "shutdown", error);
    }
  }
}

/**
 * Characters of a topic a log line shows: a topic may be 64 KB long, and a line that long would hold the serial
 * port for seconds.
 */
const TOPIC_SHOWN = 200;

/**
 * The host as the firmware's parts use it (device.host: the client, the self-test): the same object underneath,
 * but the callbacks of the sockets they open and of the timers they make are guarded like the other events, so
 * that an exception in the client's or the self-test's handling of bytes or deadlines is reported and cannot reach
 * the host. One object per connection and one closure per timer (timers are made once), none per event.
 */
function guardSockets(device: Device): Host {
  const { host } = device;
  const timer: Host["timer"] = (callback) =>
    host.timer(() => {
      try {
        callback();
      } catch (error) {
        fault(device, "timer", error);
      }
    });
  const connect: Host["connect"] = (options, handlers) => host.connect(options, new GuardedHandlers(device, handlers));
  // Own properties over the host: a host whose class is preloaded has a frozen prototype, and assigning over an
  // inherited read-only method throws.
  return Object.create(host, { timer: { value: timer }, connect: { value: connect } });
}

/** A socket's handlers, each call guarded (see guardSockets): a class, so its methods are in flash. */
class GuardedHandlers implements SocketHandlers {
  constructor(
    private readonly device: Device,
    private readonly handlers: SocketHandlers,
  ) {}

  onResolved(address: string): void {
    try {
      this.handlers.onResolved?.(address);
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onConnect(): void {
    try {
      this.handlers.onConnect();
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onData(bytes: Uint8Array): void {
    try {
      this.handlers.onData(bytes);
    } catch (error) {
      fault(this.device, "socket", error, { bytes: bytes.length });
    }
  }

  onWritable(): void {
    try {
      this.handlers.onWritable();
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onError(netError: NetError): void {
    try {
      this.handlers.onError(netError);
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }
}

/** The first `max` characters of a topic, line or message a log line shows, and its length when cut. */
function clip(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}...(${text.length})` : text;
}

/**
 * The top-level guard's report: an event handler threw. One `E app fault` line naming the handler (`in`), what it
 * was handling and the exception (secrets are hidden by the logger, as on every line); counted; kept in the
 * history. The device goes on. Never throws itself: when even the report fails there is nothing left to tell.
 */
function fault(device: Device, handler: string, error: unknown, fields?: Fields): void {
  try {
    device.stats.fault(handler === "message");
    const cause = clip(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 160);
    device.log.error("app", "fault", { in: handler, ...fields, error: cause });
    device.history.add(device.host.now(), "fault", `in=${handler} ${cause}`);
  } catch {}
}

/** Turns the settings into the client's configuration, or the first error as one line (also for `npm run fleet`). */
export function clientConfig(
  settings: Settings,
  clientId: string,
  statusTopic: string,
  keepAlive: number,
): ClientConfig | string {
  const errors = settings.errors();
  if (errors.length) return errors.join("; ");
  const brokers = parseBrokers(settings.get("broker"));
  if (typeof brokers === "string") return brokers;
  const invalid =
    validateBackoff(backoffConfig(settings), brokers) ??
    validateTuner({ ...TUNER_DEFAULTS, keepAlive, min: settings.number("keepAliveMin") });
  if (invalid) return invalid;
  const user = settings.get("mqttUser");
  const password = settings.get("mqttPassword");
  const version = mqttVersion(settings);
  const willDelay = settings.number("willDelay");
  const message = messageProperties(settings);
  const willProperties = version === 5 && willDelay ? { ...message, willDelayInterval: willDelay } : message;
  return {
    brokers,
    clientId,
    version,
    keepAlive,
    username: user || undefined,
    password: password ? toBytes(password) : undefined,
    will: {
      topic: statusTopic,
      payload: toBytes('{"online":false}'),
      qos: 1,
      retain: true,
      properties: willProperties,
    },
    cleanStart: settings.get("cleanSession") === "1",
    sessionExpiry: settings.number("sessionExpiry"),
    maxPacketSize: settings.number("maxPacketSize"),
    connectTimeout: settings.number("connectTimeout"),
    connackTimeout: settings.number("connackTimeout"),
    backoff: backoffConfig(settings),
    queue: { count: settings.number("queueCount"), bytes: settings.number("queueBytes") },
    classify: (cause) => classifyCause(cause, version, user !== ""),
    maxInflight: settings.number("maxInflight"),
    receiveMaximum: settings.number("receiveMaximum"),
    topicAliasMaximum: settings.number("topicAliasMaximum"),
    topicAliases: settings.get("topicAliases") === "1",
    ca: settings.ca(),
  };
}

/** The properties of the device's own messages: their expiry (MQTT 5), or none. */
function messageProperties(settings: Settings): Properties | undefined {
  const expiry = settings.number("messageExpiry");
  return mqttVersion(settings) === 5 && expiry > 0 ? { messageExpiryInterval: expiry } : undefined;
}

function mqttVersion(settings: Settings): ProtocolVersion {
  return settings.get("mqttVersion") === "5" ? 5 : 4;
}

function backoffConfig(settings: Settings): BackoffConfig {
  return {
    base: settings.number("backoffBase"),
    cap: settings.number("backoffCap"),
    stable: settings.number("backoffStable"),
    jitter: DEFAULT_JITTER,
    spread: settings.number("backoffSpread"),
  };
}

/** `classify` names how a connection ended (not the patterns the diagnoser may add on top). */
function clientEvent(device: Device, event: ClientEvent, classify: ClientConfig["classify"]): void {
  const { log, stats, host, history } = device;
  const now = host.now();
  switch (event.type) {
    case "connecting":
      stats.attempt();
      log.info("mqtt", "connecting", {
        broker: brokerName(event.broker),
        attempt: event.attempt,
        total: stats.attempts,
      });
      return;
    case "resolved":
      log.debug("dns", "resolved", { host: event.broker.host, address: event.address });
      return;
    case "socket":
      // Over WebSocket the time includes the upgrade.
      log.debug(event.broker.path !== undefined ? "ws" : event.broker.tls ? "tls" : "tcp", "connected", {
        ms: event.ms,
      });
      return;
    case "connected": {
      const { rtt } = event;
      stats.connected(now, rtt);
      for (let i = 0; i < event.resent; i++) stats.retransmitted();
      device.tuner.connected(now);
      // The connection number keeps reconnects apart: identical lines would be held back by the rate limit.
      log.info("mqtt", "connected", {
        session: event.sessionPresent ? "resumed" : "new",
        keepalive: event.keepAlive,
        rtt,
        requeued: event.requeued || undefined,
        resent: event.resent || undefined,
        n: stats.successes,
      });
      history.add(now, "connected", `rtt=${rtt}ms`);
      publishStatus(device, true);
      return;
    }
    case "closed": {
      if (event.cause.kind === "local") {
        stats.closed(now);
        log.info("mqtt", "closed", { reason: event.cause.reason });
        return;
      }
      const code = classify(event.cause);
      stats.failed(now, code);
      const idle = event.cause.kind === "keepalive_timeout" ? event.idle - event.cause.waited : event.idle;
      const { tuner } = device;
      const conclusions = tuner.conclusions;
      const change = event.uptime >= 0 ? tuner.ended(now, code, idle) : undefined;
      if (change) {
        host.writeSetting(TUNER_KEY, tuner.serialize());
        device.client?.setKeepAlive(tuner.keepAlive);
        log.warn("keepalive", "tuned", { change });
      }
      // Also when the keep alive is at its lowest already and connections still die at the same idle time.
      const evidence = tuner.conclusions > conclusions ? tuner.natIdleTimeoutSuspected : undefined;
      if (evidence) {
        failure(device, {
          code: "nat_idle_timeout_suspected",
          fields: {
            idle_s: evidence.idle.map((ms) => Math.round(ms / 1000)).join("/"),
            keepalive: evidence.keepAlive,
            configured: evidence.configured,
            below: evidence.belowMin ? "keepAliveMin" : undefined,
          },
        });
      }
      return;
    }
    case "waiting":
      if (event.delay < 0) log.warn("link", "waiting", { reason: event.reason });
      else log.info("mqtt", "retry", { in_ms: Math.round(event.delay), reason: event.reason });
      return;
    case "message":
      stats.received(event.publish.qos, event.publish.payload.length);
      if (event.publish.topic === device.topics.cmd) remoteCommand(device, event.publish);
      else
        log.info("mqtt", "message", {
          topic: clip(event.publish.topic, TOPIC_SHOWN),
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
      if (event.result === "dropped") stats.dropped();
      return;
    case "subscribed":
      log.info("mqtt", "subscribed", {
        filters: event.topicFilters.join(","),
        codes: event.reasonCodes.join(","),
        reason_string: event.reasonString,
      });
      return;
    case "unsubscribed":
      // 3.1.1's UNSUBACK carries no reason codes.
      log.info("mqtt", "unsubscribed", {
        id: event.packetId,
        codes: event.reasonCodes.join(",") || undefined,
        reason_string: event.reasonString,
      });
      return;
    case "received":
      log.log(event.reasonCode === 0 && event.reasonString === undefined ? DEBUG : INFO, "mqtt", "ack", {
        packet: "PUBREC",
        id: event.packetId,
        reason: reasonText(event.reasonCode, PUBREC, mqttVersion(device.settings)),
        reason_string: event.reasonString,
      });
      return;
    case "completed": {
      // Refusals are the diagnoser's (publish_denied); a success that says more than "Success" is told here, plain
      // ones at debug level.
      const c = event.completion;
      if (!c.ok) return;
      const plain = c.reasonCode === 0 && event.reasonString === undefined;
      log.log(plain ? DEBUG : INFO, "mqtt", "ack", {
        packet: PACKET_NAMES[event.ack],
        id: c.packetId,
        topic: c.message.topic,
        reason: reasonText(c.reasonCode, event.ack, mqttVersion(device.settings)),
        reason_string: event.reasonString,
      });
      return;
    }
    case "warning":
      log.warn("mqtt", "warning", { message: event.message });
      return;
    case "packet":
      // Every packet its own line, in order: the log's rate limit would hold back a resent one.
      log.record(INFO, "trace", event.direction, packetFields(event.packet, event.size, device.topics.cmd));
      return;
  }
}

/** A failure line: `diag <code>` with its facts and the hint; kept in the history. */
function failure(device: Device, finding: Finding): void {
  device.lastFailure = finding;
  const info = failureInfo(finding.code);
  device.log.log(failureLevel(info), "diag", finding.code, { ...finding.fields, hint: info.hint });
  // The address a name resolved to is left out: history slots are small, and the broker is named already.
  const { address, ...facts } = finding.fields;
  device.history.add(device.host.now(), finding.code, device.log.describe(facts));
}

/** Periodic work: the heap check and the log's rate-limit summaries. */
function housekeeping(device: Device): void {
  const { host, stats, log, settings } = device;
  const heap = host.heap();
  stats.heap(heap.used, heap.peak);
  log.tick(host.now());
  const limit = settings.number("heapLimit") || heap.total;
  if (!limit) return;
  if (!device.lowMemory && heap.used > limit * LOW_MEMORY) {
    device.lowMemory = true;
    failure(device, { code: "low_memory", fields: { used: heap.used, limit, peak: heap.peak } });
  } else if (device.lowMemory && heap.used < limit * RECOVERED) {
    device.lowMemory = false;
    log.info("heap", "recovered", { used: heap.used, limit });
  }
}

/** Publishes through the client and counts the message in the statistics when it was taken. */
export function publish(
  device: Device,
  topic: string,
  text: string,
  qos: QoS,
  retain: boolean,
  properties = device.properties,
): PublishResult {
  const payload = toBytes(text);
  const result = device.client?.publish(topic, payload, qos, retain, properties) ?? "invalid";
  if (result === "sent" || result === "queued") device.stats.sent(qos, payload.length);
  return result;
}

export function publishStatus(device: Device, online: boolean): void {
  const now = device.host.now();
  const body = online
    ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used })
    : '{"online":false}';
  publish(device, device.topics.status, body, 1, true);
}

/**
 * The commands the command topic may run: those `allowed` names (comma-separated), unknown names said in a warning.
 * Undefined when `allowed` is empty: the remote console is off and the device does not subscribe to its command
 * topic.
 */
function remoteNames(allowed: string, log: Logger): readonly string[] | undefined {
  const names = allowed.split(",").filter((name) => name !== "");
  if (!names.length) return undefined;
  const unknown = names.filter((name) => !isCommand(name));
  if (unknown.length) log.warn("app", "remote_commands", { unknown: unknown.join(",") });
  return names;
}

/**
 * The command table of the command topic: the commands `names` allows as they are, the others answering that they
 * are for the serial console (`help` is always there). Made for each remote command, which is rare, rather than
 * kept: a dozen objects would stay on the heap for good.
 */
function remoteTable(names: readonly string[]): readonly Command<Device>[] {
  return COMMANDS.map((c) =>
    names.includes(c.name)
      ? c
      : {
          name: c.name,
          usage: c.usage,
          help: "serial console only",
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
          run: localOnly,
        },
  );
}

function localOnly(): void {
  throw new Error("not allowed on the command topic (the setting remoteCommands lists what is)");
}

/**
 * A command arrived on the command topic: run it like a console line, with the commands remoteCommands allows, and
 * publish its output on the reply topic, what it prints at once as one message, anything it prints later (the
 * self-test) line by line. An MQTT 5 request names its own Response Topic and Correlation Data: the output goes
 * there, with the correlation data. A retained command is ignored: it is stored state (left by anyone, at any time),
 * not a request, and would be obeyed again at every subscription.
 */
function remoteCommand(device: Device, message: Publish): void {
  const allowed = device.remoteCommands;
  if (!allowed || message.retain) {
    const reason = allowed ? "retained" : "remote console off";
    device.log.warn("app", "command_ignored", { reason, bytes: message.payload.length });
    return;
  }
  const { properties } = message;
  const topic = properties?.responseTopic ?? device.topics.reply;
  const correlationData = properties?.correlationData;
  const replyProperties = correlationData ? { ...device.properties, correlationData } : device.properties;
  // Guarded on its own: what the self-test prints later comes from its callbacks, outside the message's guard.
  const reply = (text: string) => {
    try {
      publish(device, topic, text, 1, false, replyProperties);
    } catch (error) {
      fault(device, "reply", error);
    }
  };
  let pending: string[] | undefined = [];
  const out = (text: string) => (pending ? pending.push(text) : reply(text));
  const line = toText(message.payload);
  device.remote = true;
  try {
    if (line === undefined) out("error: command is not valid UTF-8");
    else execute(remoteTable(allowed), line, out, device);
  } finally {
    device.remote = false;
  }
  const lines = pending;
  pending = undefined;
  if (lines.length) reply(lines.join("\n"));
}

/**
 * A trace line's fields. `size` is the packet's length when known (0: not). A command arriving on `cmdTopic` shows
 * with the value of a secret setting hidden: it is only registered as a secret once the command has run.
 */
export function packetFields(packet: Packet, size: number, cmdTopic: string): Fields {
  const p = packet as unknown as Record<string, unknown>;
  const fields: Record<string, string | number | boolean | undefined> = { type: PACKET_NAMES[packet.type] };
  if (size) fields.size = size;
  if (typeof p.packetId === "number") fields.id = p.packetId;
  if (typeof p.qos === "number") fields.qos = p.qos;
  if (p.dup) fields.dup = 1;
  if (p.retain) fields.retain = 1;
  if (typeof p.topic === "string") fields.topic = clip(p.topic, TOPIC_SHOWN);
  if (typeof p.reasonCode === "number") fields.rc = p.reasonCode;
  const properties = p.properties as Record<string, unknown> | undefined;
  if (properties) {
    for (const { name, field } of TRACED) {
      const value = properties[name];
      if (typeof value === "number" || typeof value === "string") fields[field] = value;
    }
  }
  if (p.payload instanceof Uint8Array)
    fields.payload = preview(p.topic === cmdTopic ? redactCommand(p.payload) : p.payload);
  // CONNECT: never its password, and only whether a user name was sent.
  if (typeof p.clientId === "string") {
    fields.client_id = p.clientId;
    fields.user = p.username ? "set" : "none";
    fields.keepalive = p.keepAlive as number;
  }
  return fields;
}

/** `config set <secret key> <value>` with the value replaced by `***`; any other command as it is. */
function redactCommand(payload: Uint8Array): Uint8Array {
  let words: string[] = [];
  try {
    words = tokenize(toText(payload) ?? "");
  } catch {}
  return words[0] === "config" && words[1] === "set" && isSecretKey(words[2] ?? "")
    ? toBytes(`config set ${words[2]} ***`)
    : payload;
}

/** MQTT 5 properties a trace line shows (never user properties or correlation data: they may be anything). */
const TRACED = frozen<{ name: string; field: string }>([
  { name: "topicAlias", field: "alias" },
  { name: "reasonString", field: "reason_string" },
  { name: "assignedClientIdentifier", field: "assigned_id" },
  { name: "receiveMaximum", field: "receive_max" },
  { name: "topicAliasMaximum", field: "alias_max" },
  { name: "maximumPacketSize", field: "max_packet" },
  { name: "sessionExpiryInterval", field: "session_expiry" },
  { name: "messageExpiryInterval", field: "expiry" },
  { name: "responseTopic", field: "response_topic" },
  { name: "serverReference", field: "server_reference" },
]);

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
