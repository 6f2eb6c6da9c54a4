import { toBytes } from "tether/app/bytes";
import { DEFAULT_BASE, DEFAULT_CAP, DEFAULT_JITTER, DEFAULT_STABLE } from "tether/client/backoff";
import { brokerName, parseBrokers } from "tether/client/broker";
import { Client as Supervisor } from "tether/client/client";
import { failureInfo, failureLevel } from "tether/diag/codes";
import { classifyCause, Diagnoser } from "tether/diag/diagnose";
import { Logger, levelFromName, WARN } from "tether/diag/log";
import { validTopicFilter, validTopicName } from "tether/mqtt/topic";
function bindClient(host) {
  const peers = /* @__PURE__ */ new Map();
  return class extends Client {
    constructor(options) {
      super(options, host, peers);
    }
  };
}
class Client {
  #client;
  #host;
  #peers;
  #key;
  #reconnect;
  #log;
  #diagnoser;
  #classify;
  /** What the application subscribed to: a subscribe that Tether already renewed after a reconnect is not sent. */
  #filters = /* @__PURE__ */ new Map();
  /** Events waiting for their callbacks, in order. */
  #pending = [];
  #timer;
  #socket;
  /** Whether onClose was called since the last onReady. */
  #reported = false;
  /** No connection will be made again: the application closed it, a newer client replaced it, or it failed with
   *  `reconnect: false`. */
  #done = false;
  constructor(options, host, peers = /* @__PURE__ */ new Map()) {
    const config = configOf(options);
    const { version, username } = config;
    const level = options.log === "none" ? void 0 : levelFromName(options.log ?? "warn") ?? WARN;
    this.#host = host;
    this.#peers = peers;
    this.#key = `${config.clientId} ${config.brokers.map(brokerName).join(",")}`;
    this.#reconnect = options.reconnect !== false;
    this.#classify = config.classify;
    const log = level === void 0 ? void 0 : new Logger(
      (line) => host.serialWrite(`${line}
`),
      () => host.now(),
      level
    );
    if (typeof options.password === "string") log?.addSecret(options.password);
    this.#log = log;
    const shortLived = config.backoff.stable;
    this.#diagnoser = new Diagnoser(
      { version, sentUser: username !== void 0, shortLived, repeats: 3 },
      (finding) => {
        const info = failureInfo(finding.code);
        log?.log(failureLevel(info), "diag", finding.code, { ...finding.fields, hint: info.hint });
      }
    );
    const io = Object.create(host);
    io.connect = (connect, handlers) => this.#socket = host.connect(connect, handlers);
    this.#client = new Supervisor(io, config, (event) => this.#observe(event));
    peers.get(this.#key)?.close();
    peers.set(this.#key, this);
    this.#client.start();
  }
  /** Whether the broker has accepted the current connection. */
  get connected() {
    return this.#client.connected;
  }
  /** The broker being used or dialled, as a URL. */
  get broker() {
    return brokerName(this.#client.broker);
  }
  /** Publishes waiting for a connection. */
  get queueDepth() {
    return this.#client.queueDepth;
  }
  /** QoS 1 and 2 publishes not yet acknowledged. */
  get inflight() {
    return this.#client.inflight;
  }
  /**
   * Publishes now, or when connected again (Moddable's module throws instead). Throws when the client is closed,
   * the topic is invalid, or a QoS 1 or 2 message does not fit in the offline queue. `dropped`: a QoS 0 message
   * gave way in the full queue.
   */
  publish(topic, data, flags) {
    this.#check(validTopicName(topic), topic);
    const qos = qosOf(flags?.quality ?? 0);
    const result = this.#client.publish(topic, bytesOf(data), qos, flags?.retain === true, flags?.properties);
    if (result === "full") throw new Error("offline queue full");
    return result;
  }
  /** Subscribes now, or once connected; Tether subscribes again after every reconnect that finds no session. */
  subscribe(topic, qos = 0) {
    this.#check(validTopicFilter(topic), topic);
    const granted = qosOf(qos);
    if (this.#filters.get(topic) === granted && this.#client.connected) return;
    this.#filters.set(topic, granted);
    this.#client.subscribe({ topicFilter: topic, qos: granted });
  }
  unsubscribe(topic) {
    this.#check(validTopicFilter(topic), topic);
    this.#filters.delete(topic);
    this.#client.unsubscribe(topic);
  }
  /**
   * Ends the connection for good: with a DISCONNECT (the broker discards the will), or with `immediate` by closing
   * the socket alone (the broker publishes the will). No callback follows, onClose included.
   */
  close(immediate = false) {
    if (this.#done && !this.#pending.length) return;
    this.#finish();
    this.#pending.length = 0;
    if (this.#timer) this.#host.clearTimer(this.#timer);
    this.#timer = void 0;
    if (immediate) this.#socket?.close();
    this.#client.stop("close");
  }
  #check(valid, topic) {
    if (this.#done) throw new Error("connection closed");
    if (!valid) throw new RangeError(`invalid topic "${topic}"`);
  }
  #finish() {
    this.#done = true;
    if (this.#peers.get(this.#key) === this) this.#peers.delete(this.#key);
  }
  #observe(event) {
    if (this.#done) return;
    this.#diagnoser.observe(event);
    switch (event.type) {
      case "closed":
        if (event.cause.kind === "local") return;
        if (!this.#reconnect) {
          this.#finish();
          this.#client.stop("closed");
        }
        break;
      case "connected":
        this.#log?.info("mqtt", "connected", { broker: this.broker, rtt: event.rtt, keepalive: event.keepAlive });
        break;
      case "waiting":
        this.#log?.info("mqtt", "retry", { in_ms: Math.round(event.delay), reason: event.reason });
        return;
      case "warning":
        this.#log?.warn("mqtt", "warning", { message: event.message });
        return;
      case "socket":
      case "message":
        break;
      default:
        return;
    }
    this.#pending.push(event);
    this.#timer ??= this.#host.setTimer(0, () => this.#flush());
  }
  /** Calls the application back. An exception it throws is not swallowed: the events after it follow later. */
  #flush() {
    this.#timer = void 0;
    const pending = this.#pending;
    try {
      while (pending.length) this.#dispatch(pending.shift());
    } finally {
      if (pending.length) this.#timer ??= this.#host.setTimer(0, () => this.#flush());
    }
  }
  #dispatch(event) {
    switch (event.type) {
      case "socket":
        this.onConnected?.();
        return;
      case "connected":
        this.#reported = false;
        this.onReady?.();
        return;
      case "message":
        this.onMessage?.(event.publish.topic, bufferOf(event.publish.payload), event.publish);
        return;
      case "closed":
        if (this.#reported) return;
        this.#reported = true;
        this.onClose?.(this.#classify(event.cause));
        return;
    }
  }
}
function configOf(options) {
  if (options.path !== void 0) throw new Error("MQTT over WebSockets (path) is not supported");
  const version = options.version ?? 4;
  if (version !== 4 && version !== 5) throw new RangeError("version must be 4 (MQTT 3.1.1) or 5");
  const { will, backoff = {}, queue = {} } = options;
  const username = options.user || void 0;
  return {
    brokers: brokersOf(options),
    clientId: options.id ?? "",
    version,
    keepAlive: options.keepAlive ?? (options.timeout === void 0 ? 60 : Math.ceil(options.timeout / 1e3)),
    username,
    password: options.password ? bytesOf(options.password) : void 0,
    will: will && {
      topic: will.topic,
      payload: bytesOf(will.message),
      qos: qosOf(will.quality ?? 0),
      retain: will.retain === true
    },
    cleanStart: options.clean !== false,
    sessionExpiry: options.sessionExpiry ?? 0,
    maxPacketSize: options.maxPacketSize ?? 65536,
    connectTimeout: 1e4,
    connackTimeout: 1e4,
    backoff: {
      base: backoff.base ?? DEFAULT_BASE,
      cap: backoff.cap ?? DEFAULT_CAP,
      stable: backoff.stable ?? DEFAULT_STABLE,
      jitter: DEFAULT_JITTER
    },
    queue: { count: queue.count ?? 100, bytes: queue.bytes ?? 16384 },
    classify: (cause) => classifyCause(cause, version, username !== void 0),
    ca: options.ca
  };
}
function brokersOf(options) {
  if (options.brokers !== void 0) {
    const brokers = parseBrokers(options.brokers);
    if (typeof brokers === "string") throw new Error(brokers);
    return brokers;
  }
  if (!options.host) throw new Error("parameter host is required");
  const tls = !!options.secure;
  return [{ host: options.host, port: options.port || (tls ? 8883 : 1883), tls }];
}
function qosOf(qos) {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError("quality must be 0, 1 or 2");
  return qos;
}
function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return toBytes(String(data));
}
function bufferOf(payload) {
  const whole = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength;
  return whole ? payload.buffer : payload.slice().buffer;
}
export {
  Client,
  bindClient
};
