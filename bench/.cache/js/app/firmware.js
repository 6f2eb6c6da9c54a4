import { toBytes, toText } from "tether/app/bytes";
import { commands } from "tether/app/commands";
import { Settings } from "tether/app/settings";
import { DEFAULT_JITTER } from "tether/client/backoff";
import { parseBrokers } from "tether/client/broker";
import { Client } from "tether/client/client";
import { KeepAliveTuner, TUNER_DEFAULTS } from "tether/client/keepalive-tuner";
import { failureInfo, failureLevel } from "tether/diag/codes";
import { execute, tokenize } from "tether/diag/console";
import { classifyCause, Diagnoser } from "tether/diag/diagnose";
import { History } from "tether/diag/history";
import { INFO, isSecretKey, Logger, levelFromName } from "tether/diag/log";
import { Stats } from "tether/diag/stats";
const LOW_MEMORY = 0.9;
const RECOVERED = 0.8;
const TUNER_KEY = "ka.tuner";
const HOUSEKEEPING = 1e3;
const OUTPUT_PREFIX = "| ";
function start(host, config) {
  const settings = new Settings(
    config,
    (key) => host.readSetting(key),
    (key, value) => host.writeSetting(key, value)
  );
  const log = new Logger(
    (line) => host.serialWrite(`${line}
`),
    () => host.now(),
    levelFromName(settings.get("logLevel")) ?? INFO
  );
  for (const secret of ["mqttPassword", "password"]) log.addSecret(settings.get(secret));
  const history = new History({ read: (k) => host.readSetting(k), write: (k, v) => host.writeSetting(k, v) });
  const clientId = settings.get("clientId") || `tether-${host.deviceId}`;
  const prefix = `${settings.get("topicPrefix")}/${clientId}`;
  const keepAlive = settings.number("keepAlive");
  const tuner = new KeepAliveTuner({ ...TUNER_DEFAULTS, keepAlive, min: settings.number("keepAliveMin") });
  const saved = host.readSetting(TUNER_KEY);
  if (saved) tuner.restore(saved);
  const device = {
    host,
    settings,
    log,
    stats: new Stats(),
    history,
    client: void 0,
    tuner,
    clientId,
    topics: { status: `${prefix}/status`, cmd: `${prefix}/cmd`, reply: `${prefix}/reply` },
    bootedAt: host.now(),
    lastFailure: void 0,
    lowMemory: false
  };
  log.info("app", "boot", { platform: host.platform, client_id: clientId, boot: history.boot });
  history.add(host.now(), "boot", `${host.platform} ${clientId}`);
  const config_ = clientConfig(settings, clientId, device.topics.status, tuner.keepAlive);
  if (typeof config_ === "string") {
    log.error("app", "config_error", { error: config_, fix: "config set <key> <value>, then reconnect" });
  } else {
    const diagnoser = new Diagnoser(
      {
        version: config_.version,
        sentUser: config_.username !== void 0,
        shortLived: settings.number("backoffStable"),
        repeats: 3
      },
      (finding) => failure(device, finding)
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
      user: config_.username ? "set" : "none"
    });
    client.start();
  }
  let timer;
  const beaconEvery = settings.number("beaconInterval") * 1e3;
  let beaconAt = host.now() + beaconEvery;
  const tick = () => {
    timer = host.setTimer(HOUSEKEEPING, tick);
    housekeeping(device);
    if (beaconEvery && host.now() >= beaconAt) {
      beaconAt = host.now() + beaconEvery;
      if (device.client?.connected) publishStatus(device, true);
    }
  };
  timer = host.setTimer(HOUSEKEEPING, tick);
  host.listen({
    onSerialLine(line) {
      execute(commands(device), line, (text) => host.serialWrite(`${OUTPUT_PREFIX}${text}
`));
    },
    onLink(up) {
      device.client?.linkChanged(up);
      if (up) log.info("link", "up");
    },
    onShutdown() {
      if (timer) host.clearTimer(timer);
      const client = device.client;
      if (client?.connected) publishStatus(device, false);
      client?.stop("shutdown");
      log.info("app", "shutdown");
    }
  });
  return device;
}
function clientConfig(settings, clientId, statusTopic, keepAlive) {
  const errors = settings.errors();
  if (errors.length) return errors.join("; ");
  const brokers = parseBrokers(settings.get("broker"));
  if (typeof brokers === "string") return brokers;
  const user = settings.get("mqttUser");
  const password = settings.get("mqttPassword");
  const version = settings.get("mqttVersion") === "5" ? 5 : 4;
  const backoff = {
    base: settings.number("backoffBase"),
    cap: settings.number("backoffCap"),
    stable: settings.number("backoffStable"),
    jitter: DEFAULT_JITTER
  };
  return {
    brokers,
    clientId,
    version,
    keepAlive,
    username: user || void 0,
    password: password ? toBytes(password) : void 0,
    will: { topic: statusTopic, payload: toBytes('{"online":false}'), qos: 1, retain: true },
    cleanStart: settings.get("cleanSession") === "1",
    sessionExpiry: settings.number("sessionExpiry"),
    maxPacketSize: settings.number("maxPacketSize"),
    connectTimeout: settings.number("connectTimeout"),
    connackTimeout: settings.number("connackTimeout"),
    backoff,
    queue: { count: settings.number("queueCount"), bytes: settings.number("queueBytes") },
    classify: (cause) => classifyCause(cause, version, user !== "")
  };
}
function clientEvent(device, event) {
  const { log, stats, host, history, settings } = device;
  const now = host.now();
  switch (event.type) {
    case "connecting":
      stats.attempt();
      log.info("mqtt", "connecting", {
        broker: `${event.broker.tls ? "mqtts" : "mqtt"}://${event.broker.host}:${event.broker.port}`,
        attempt: event.attempt
      });
      return;
    case "resolved":
      log.debug("dns", "resolved", { host: event.broker.host, address: event.address });
      return;
    case "socket":
      log.debug(event.broker.tls ? "tls" : "tcp", "connected", { ms: event.ms });
      return;
    case "connected": {
      const rtt = event.rtt;
      stats.connected(now, rtt);
      device.tuner.connected(now);
      log.info("mqtt", "connected", {
        session: event.sessionPresent ? "resumed" : "new",
        keepalive: event.keepAlive,
        rtt,
        requeued: event.requeued || void 0
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
      const code = device.lastFailure?.code ?? "broker_closed";
      stats.failed(now, code);
      const idle = event.cause.kind === "keepalive_timeout" ? event.idle - event.cause.waited : event.idle;
      const idleDeath = idle >= settings.number("keepAliveMin") * 1e3 ? idle : 0;
      const change = event.uptime >= 0 ? device.tuner.ended(now, code, idleDeath) : void 0;
      if (change) {
        host.writeSetting(TUNER_KEY, device.tuner.serialize());
        device.client?.setKeepAlive(device.tuner.keepAlive);
        log.warn("keepalive", "tuned", { change });
        const evidence = device.tuner.natIdleTimeoutSuspected;
        if (evidence) {
          failure(device, {
            code: "nat_idle_timeout_suspected",
            fields: {
              idle_s: evidence.idle.map((ms) => Math.round(ms / 1e3)).join("/"),
              keepalive: evidence.keepAlive,
              configured: evidence.configured
            }
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
          bytes: event.publish.payload.length
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
      log.log(INFO, "trace", event.direction, packetFields(event.packet, event.size, device.topics.cmd));
      return;
  }
}
function failure(device, finding) {
  device.lastFailure = finding;
  const info = failureInfo(finding.code);
  device.log.log(failureLevel(info), "diag", finding.code, { ...finding.fields, hint: info.hint });
  device.history.add(device.host.now(), finding.code, device.log.describe(finding.fields));
}
function housekeeping(device) {
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
function publishStatus(device, online) {
  const now = device.host.now();
  const body = online ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used }) : '{"online":false}';
  device.client?.publish(device.topics.status, toBytes(body), 1, true);
}
function remoteCommand(device, payload) {
  const reply = (text) => device.client?.publish(device.topics.reply, toBytes(text), 1, false);
  let pending = [];
  const out = (text) => pending ? pending.push(text) : reply(text);
  const line = toText(payload);
  if (line === void 0) out("error: command is not valid UTF-8");
  else execute(commands(device), line, out);
  const lines = pending;
  pending = void 0;
  reply(lines.join("\n"));
}
function packetFields(packet, size, cmdTopic) {
  const p = packet;
  const fields = { type: PACKET_NAMES[packet.type] };
  if (size) fields.size = size;
  if (typeof p.packetId === "number") fields.id = p.packetId;
  if (typeof p.qos === "number") fields.qos = p.qos;
  if (p.dup) fields.dup = 1;
  if (p.retain) fields.retain = 1;
  if (typeof p.topic === "string") fields.topic = p.topic;
  if (typeof p.reasonCode === "number") fields.rc = p.reasonCode;
  if (p.payload instanceof Uint8Array)
    fields.payload = preview(p.topic === cmdTopic ? redactCommand(p.payload) : p.payload);
  if (typeof p.clientId === "string") {
    fields.client_id = p.clientId;
    fields.user = p.username ? "set" : "none";
    fields.keepalive = p.keepAlive;
  }
  return fields;
}
function redactCommand(payload) {
  let words = [];
  try {
    words = tokenize(toText(payload) ?? "");
  } catch {
  }
  return words[0] === "config" && words[1] === "set" && isSecretKey(words[2] ?? "") ? toBytes(`config set ${words[2]} ***`) : payload;
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
  "AUTH"
];
const PREVIEW = 32;
function preview(payload) {
  const head = payload.subarray(0, PREVIEW);
  const text = toText(head);
  let shown = "";
  if (text !== void 0 && !hasControl(text)) shown = text;
  else for (const b of head) shown += (b < 16 ? "0" : "") + b.toString(16);
  return payload.length > PREVIEW ? `${shown}...(${payload.length})` : shown;
}
function hasControl(text) {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 32) return true;
  return false;
}
export {
  OUTPUT_PREFIX,
  packetFields,
  publishStatus,
  start
};
