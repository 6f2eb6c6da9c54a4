// A drop-in superset of the Client of Moddable's `mqtt` module, on Tether's supervisor: the same dictionary,
// callbacks and methods, plus QoS 1 and 2, automatic reconnect with backoff, an offline queue and Tether's
// diagnostics on the serial port. docs/compat.md says what differs and why.
//
// Moddable calls the application back from a timer, never from inside the socket's callback; so does this
// module, which also keeps the protocol state machine out of reach of an exception the application throws.

import { DEFAULT_BASE, DEFAULT_CAP, DEFAULT_JITTER, DEFAULT_STABLE } from "tether/client/backoff";
import { type Broker, brokerName, parseBrokers, validPath } from "tether/client/broker";
import {
  type ClientConfig,
  type ClientEvent,
  definedOnly,
  type PublishResult,
  Client as Supervisor,
} from "tether/client/client";
import type { Authenticator, ConnectExtras, Goodbye } from "tether/client/connection";
import { type Code, classifyCause } from "tether/diag/codes";
import { type Fields, INFO, type Level, Logger, levelFromName, WARN } from "tether/diag/log";
import type { Host, Timer } from "tether/host";
import { toBytes } from "tether/mqtt/bytes";
import type { Properties, ProtocolVersion, Publish, QoS, Subscription } from "tether/mqtt/packets";
import { topicFilterProblem, topicNameProblem } from "tether/mqtt/topic";

/** A payload as Moddable takes it: a string or an ArrayBuffer; a typed array, or anything else as its string. */
export type Data = string | ArrayBuffer | ArrayBufferView | number | boolean;

export interface ClientOptions {
  // Moddable's dictionary.
  /** The broker's host name or address (required unless `brokers` is given). */
  host?: string;
  /** Default 1883 (8883 with `secure`); with `path`, 80 (443 with `secure`). */
  port?: number;
  /**
   * Client identifier; default "" (the broker assigns one). With MQTT 5 the assigned one is used from then on, and
   * kept in the host's storage: reconnects and the next boot resume its session.
   */
  id?: string;
  user?: string;
  password?: string | ArrayBuffer;
  /** `properties` (an extra, MQTT 5): the Will Properties, `willDelayInterval` and those of a PUBLISH. */
  will?: { topic: string; message: Data; retain?: boolean; quality?: QoS; properties?: Properties };
  /** Keep alive in milliseconds, rounded up to seconds; 0 sends no pings. Default 60000. */
  timeout?: number;
  /**
   * Any truthy value connects with TLS, verifying the server against `ca`; `{verify: false}` skips the
   * verification, as with Moddable's SecureSocket. SecureSocket's other options are unused.
   */
  secure?: unknown;
  /**
   * MQTT over WebSocket, as Moddable's module: the upgrade's request target (`/mqtt`; a query may follow). With
   * `secure`, over TLS (wss).
   */
  path?: string;

  // Tether's extras.
  /** Broker URLs for failover (`mqtt://host:port,mqtts://host:port,wss://host:port/path`), in place of host and port. */
  brokers?: string;
  /** 4 (MQTT 3.1.1, the default) or 5. */
  version?: ProtocolVersion;
  /** Keep alive in seconds, in place of `timeout`. */
  keepAlive?: number;
  /** Clean Session (3.1.1) or Clean Start (5); default true, as Moddable's module always asks. */
  clean?: boolean;
  /** MQTT 5 Session Expiry Interval, seconds; default 0. */
  sessionExpiry?: number;
  /** Dial again after a drop or a failed attempt (default true); false behaves as Moddable's module. */
  reconnect?: boolean;
  /** Retry delays, ms: the first window, the longest, and the uptime after which they start over. */
  backoff?: { base?: number; cap?: number; stable?: number; spread?: number };
  /** Bounds of the queue that holds publishes made while disconnected (default 100 messages, 16384 bytes). */
  queue?: { count?: number; bytes?: number };
  /** Largest packet accepted, bytes; default 65536. */
  maxPacketSize?: number;
  /** MQTT 5 Receive Maximum: QoS 1/2 messages the broker may send before we answer; default 65535. */
  receiveMaximum?: number;
  /** MQTT 5 Topic Alias Maximum: aliases the broker may use towards us; default 8. */
  topicAliasMaximum?: number;
  /** MQTT 5: give each topic published to an alias of its own, saving its bytes in later messages; default false. */
  topicAliases?: boolean;
  /**
   * MQTT 5 CONNECT properties, as MQTT.js names them: `requestResponseInformation` (the CONNACK's
   * `responseInformation` reaches onReady), `requestProblemInformation` (false: the broker leaves reason strings out
   * of failures), `userProperties`.
   */
  properties?: {
    requestResponseInformation?: boolean;
    requestProblemInformation?: boolean;
    userProperties?: UserProperties;
  };
  /** MQTT 5 enhanced authentication (AUTH): the method's name and steps (see Authenticator); `reauthenticate()`. */
  auth?: Authenticator;
  /** CA certificate names for TLS (resources on Moddable). */
  ca?: string[];
  /** Serial diagnostics: error, warn (the default: failures with their hint), info, debug, trace, or none. */
  log?: string;
}

/** MQTT 5 User Properties: `[name, value]` pairs in order, or an object as MQTT.js takes them (a value may be a list). */
export type UserProperties = [string, string][] | Record<string, string | string[]>;

/** subscribe()'s second argument: a QoS, or MQTT.js's options (the MQTT 5 ones need `version: 5`). */
export interface SubscribeOptions {
  qos?: QoS;
  /** No Local: not our own messages. */
  nl?: boolean;
  /** Retain As Published: keep the retain flag the publisher set. */
  rap?: boolean;
  /** Retain Handling: 0 retained messages at every subscribe, 1 only at a new subscription, 2 never. */
  rh?: number;
  /** `subscriptionIdentifier` (1..268435455) comes back in each matching message's properties. */
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties };
}

/** close()'s MQTT 5 DISCONNECT, as MQTT.js's end() takes it. */
export interface CloseOptions {
  /** 0 (the default), or 4: Disconnect with Will Message (the broker publishes the will). */
  reasonCode?: number;
  properties?: { sessionExpiryInterval?: number; reasonString?: string; userProperties?: UserProperties };
}

export interface PublishFlags {
  retain?: boolean;
  /** QoS 0, 1 or 2. */
  quality?: QoS;
  /** MQTT 5 properties of the PUBLISH. */
  properties?: Properties;
}

/** The constructor bindClient returns: Moddable's signature, with the Host and the peer registry bound. */
export type ClientClass = new (options: ClientOptions) => Client;

/** MQTT over WebSocket, when the build has it (ClientConfig.webSocket). */
type WebSocketLayer = ClientConfig["webSocket"];

/**
 * The diagnoser's class (tether/diag/diagnose's Diagnoser), when the build has it (on Moddable,
 * hosts/moddable/manifest_diagnose.json; the firmware includes it): its `diag` lines name a failure with its evidence
 * and a hint. Passed in, not imported, so that a build without it carries none of it; onClose names every failure
 * either way. What the drop-in asks of it is written here: mcconfig's tsc resolves type imports too, and such a build
 * has no diagnose module to import a type from.
 */
export interface DiagnoserClass {
  new (
    options: { version: ProtocolVersion; sentUser: boolean; shortLived: number; repeats: number },
    report: (finding: { code: Code; fields: Fields }) => void,
  ): { observe(event: ClientEvent): void };
  /** failures.ts's: a finding's line, its level and its facts with the code's hint. */
  failureLine(code: Code, facts: Fields): { level: Level; fields: Fields };
}

/**
 * The Client class for one Host, with the WebSocket layer and the diagnoser when the build has them (without the
 * WebSocket layer, `path` and ws:// brokers are refused when a Client is made). Clients of one class that share a
 * client id and broker replace each other: the newer closes the older, so an application that makes a new Client in
 * onClose, as Moddable's module requires, never has two clients taking the session from each other.
 */
export function bindClient(host: Host, webSocket?: WebSocketLayer, diagnoser?: DiagnoserClass): ClientClass {
  const peers: Client[] = [];
  return class extends Client {
    constructor(options: ClientOptions) {
      super(options, host, peers, webSocket, diagnoser);
    }
  };
}

// The bits of Client.#flags.
/** #timer is scheduled. */
const FLUSHING = 1;
/** onClose was called since the last onReady. */
const REPORTED = 2;
/** No connection will be made again: the application closed it, a newer client replaced it, or it failed with
 *  `reconnect: false`. */
const DONE = 4;
/** The dictionary said `reconnect: false`. */
const NO_RECONNECT = 8;

/**
 * The client's own methods, keyed by symbols: no name of ours on the prototype can meet one of an application's
 * subclass (apps subclass Client, as with Moddable's module), and unlike `#` methods, which XS gives every instance
 * a slot each for, they cost nothing per client.
 */
const CHECK: unique symbol = Symbol("check");
const FINISH: unique symbol = Symbol("finish");
const OBSERVE: unique symbol = Symbol("observe");
const LINE: unique symbol = Symbol("line");
const CALL_BACK: unique symbol = Symbol("callBack");
const FLUSH: unique symbol = Symbol("flush");
const DISPATCH: unique symbol = Symbol("dispatch");

/**
 * What the host's timer and the supervisor call on a drop-in Client: a small object of a class, its methods in
 * flash, where closures would be heap for as long as the client lives. It calls the client's symbol-keyed methods.
 */
class Relay {
  constructor(private readonly client: Client) {}

  onTimer(): void {
    this.client[FLUSH]();
  }

  observe(event: ClientEvent): void {
    this.client[OBSERVE](event);
  }
}

export class Client {
  // Moddable's callbacks: assigned as properties, or methods of a subclass. `this` is the client.
  /** The socket is open; CONNECT follows. */
  onConnected?(): void;
  /**
   * The broker accepted the connection: after the first CONNACK and after every reconnect. `properties` (an extra):
   * the MQTT 5 CONNACK's (`responseInformation`, `assignedClientIdentifier`, `serverKeepAlive`...).
   */
  onReady?(properties?: Properties): void;
  /** A message arrived. `message` (an extra) has qos, retain, dup and the MQTT 5 properties. */
  onMessage?(topic: string, body: ArrayBuffer, message: Publish): void;
  /**
   * The connection ended or an attempt failed, at most once between two onReady calls. `reason` (an extra) is the
   * failure code of docs/troubleshooting.md. Not called for close().
   */
  onClose?(reason: string): void;

  readonly #client: Supervisor;
  /** The clients of this class that are not done (an array: a Map of a few clients costs more heap than a search). */
  readonly #peers: Client[];
  readonly #key: string;
  /** The application gave no client id: the broker assigns one. */
  readonly #anonymous: boolean;
  readonly #version: ProtocolVersion;
  readonly #host: Host;
  /** The serial log's level; -1: none. */
  readonly #level: number;
  /** Made with the first line printed: at warn, a client that has nothing to say keeps none of its heap. */
  #log: Logger | undefined;
  readonly #diagnoser: InstanceType<DiagnoserClass> | undefined;
  /** Events waiting for their callbacks, in order. */
  readonly #pending: ClientEvent[] = [];
  /** Calls the application back from the event loop, never from inside the socket's callback. */
  readonly #timer: Timer;
  /** FLUSHING, REPORTED, DONE and NO_RECONNECT: bits of one number, a slot where four fields would be four. */
  #flags = 0;

  constructor(
    options: ClientOptions,
    host: Host,
    peers: Client[] = [],
    webSocket?: WebSocketLayer,
    diagnoser?: DiagnoserClass,
  ) {
    const config = configOf(options, webSocket);
    const { version, username } = config;
    this.#host = host;
    this.#level = options.log === "none" ? -1 : (levelFromName(options.log ?? "warn") ?? WARN);
    this.#peers = peers;
    this.#key = `${config.clientId} ${config.brokers.map(brokerName).join(",")}`;
    if (options.reconnect === false) this.#flags = NO_RECONNECT;
    this.#anonymous = !config.clientId;
    this.#version = version;
    const shortLived = config.backoff.stable;
    this.#diagnoser =
      diagnoser &&
      new diagnoser({ version, sentUser: username !== undefined, shortLived, repeats: 3 }, (finding) => {
        const line = diagnoser.failureLine(finding.code, finding.fields);
        this[LINE](line.level, "diag", finding.code, line.fields);
      });
    const relay = new Relay(this);
    this.#timer = host.timer(relay);
    this.#client = new Supervisor(host, config, relay);
    const key = this.#key;
    peers.find((peer) => peer.#key === key)?.close();
    peers.push(this);
    this.#client.start();
  }

  /** Whether the broker has accepted the current connection. */
  get connected(): boolean {
    return this.#client.connected;
  }

  /** The broker being used or dialled, as a URL. */
  get broker(): string {
    return brokerName(this.#client.broker);
  }

  /** Publishes waiting for a connection. */
  get queueDepth(): number {
    return this.#client.queueDepth;
  }

  /** QoS 1 and 2 publishes not yet acknowledged. */
  get inflight(): number {
    return this.#client.inflight;
  }

  /**
   * Publishes now, or when connected again (Moddable's module throws instead). Throws when the client is closed,
   * the topic is invalid, the message is too large ever to send, or a QoS 1 or 2 message does not fit in the queue.
   * `dropped`: a QoS 0 message gave way in the full queue.
   */
  publish(topic: string, data: Data, flags?: PublishFlags): PublishResult {
    const client = this.#client;
    // The topic's problem is put in words only when there is one (the client keeps the last topic's check).
    if (this.#flags & DONE || client.topicLength(topic) < 0) this[CHECK](topicNameProblem(topic), topic);
    let qos: QoS = 0;
    let retain = false;
    let properties: Properties | undefined;
    if (flags) {
      properties = flags.properties;
      const alias = properties?.topicAlias;
      // One above the broker's maximum is left out when sent (the maximum is the broker's, known once connected).
      if (alias !== undefined && !(Number.isInteger(alias) && alias >= 1 && alias <= 65535)) {
        throw new RangeError("topicAlias must be 1..65535");
      }
      // QoS 0 is checked without a call, as often as it is published.
      const quality = flags.quality;
      if (quality !== undefined && quality !== 0) qos = qosOf(quality);
      retain = flags.retain === true;
    }
    // Moddable's own type, an ArrayBuffer, is viewed in line: this runs for every message, and a call costs.
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : viewOf(data);
    const result = client.publish(topic, bytes, qos, retain, properties);
    if (result === "full") throw new Error("queue full");
    // The reason (too large for our limit or the broker's) is in the client's warning.
    if (result === "invalid") throw new Error("message can never be sent: too large");
    return result;
  }

  /**
   * Subscribes now, or once connected; Tether subscribes again after every reconnect that finds no session. The
   * second argument is a QoS, or MQTT.js's options: `{qos, nl, rap, rh, properties}` (see SubscribeOptions).
   */
  subscribe(topic: string, options: QoS | SubscribeOptions = 0): void {
    this[CHECK](topicFilterProblem(topic) ?? this.#client.unsupportedFilter(topic), topic);
    const o = typeof options === "object" ? options : { qos: options };
    const subscription: Subscription = { topicFilter: topic, qos: qosOf(o.qos ?? 0) };
    const { nl, rap, rh } = o;
    const p = o.properties;
    if (nl !== undefined || rap !== undefined || rh !== undefined || p) {
      this.#needs5("nl, rap, rh and properties");
      if (rh !== undefined && rh !== 0 && rh !== 1 && rh !== 2) throw new RangeError("rh must be 0, 1 or 2");
      const id = p?.subscriptionIdentifier;
      if (id !== undefined && !(Number.isInteger(id) && id >= 1 && id <= 268435455)) {
        throw new RangeError("subscriptionIdentifier must be 1..268435455");
      }
      if (nl) subscription.noLocal = true;
      if (rap) subscription.retainAsPublished = true;
      if (rh) subscription.retainHandling = rh;
    }
    const properties = p && propertiesOf(p.subscriptionIdentifier, p.userProperties);
    const kept = this.#client.subscription(topic);
    // A subscribe that Tether already renewed after a reconnect (an application's onReady does it) is not sent.
    if (kept && this.#client.connected && sameSubscription(kept, subscription) && !properties) {
      if (!this.#client.subscribedWith(topic)) return;
    }
    this.#client.subscribe(subscription, properties);
  }

  /** Unsubscribes now, or once connected. `options.properties.userProperties` (MQTT 5) go with the UNSUBSCRIBE. */
  unsubscribe(topic: string, options?: { properties?: { userProperties?: UserProperties } }): void {
    this[CHECK](topicFilterProblem(topic), topic);
    const users = options?.properties?.userProperties;
    if (users) this.#needs5("properties");
    this.#client.unsubscribe(topic, users && propertiesOf(undefined, users));
  }

  /**
   * MQTT 5: authenticates again on the open connection with the `auth` method (AUTH 0x19), as a token nears its
   * expiry; the broker ends the connection if it refuses. False when there is no `auth` or no connection.
   */
  reauthenticate(): boolean {
    return this.#client.reauthenticate();
  }

  #needs5(what: string): void {
    if (this.#version !== 5) throw new RangeError(`${what} need MQTT 5 (version: 5)`);
  }

  /**
   * Ends the connection for good: with a DISCONNECT (the broker discards the will), or with `immediate` by closing
   * the socket alone (the broker publishes the will). No callback follows, onClose included.
   */
  close(immediate = false, options?: CloseOptions): void {
    if (this.#flags & DONE && !this.#pending.length) return;
    let goodbye: Goodbye | undefined;
    if (options) {
      this.#needs5("close options");
      const { reasonCode = 0, properties: p } = options;
      if (!CLIENT_DISCONNECT_CODES.includes(reasonCode))
        throw new RangeError(`reasonCode ${reasonCode} is not one a client sends`);
      goodbye = { reasonCode, sessionExpiry: p?.sessionExpiryInterval, reasonString: p?.reasonString };
      if (p?.userProperties) goodbye.userProperties = pairsOf(p.userProperties);
    }
    this[FINISH]();
    this.#pending.length = 0;
    this.#timer.cancel();
    this.#flags &= ~FLUSHING;
    this.#client.stop("close", immediate, goodbye);
  }

  /** Throws when the client is closed or the topic has a `problem` (what brokers refuse, in words). */
  [CHECK](problem: string | undefined, topic: string): void {
    if (this.#flags & DONE) throw new Error("connection closed");
    if (problem) throw new RangeError(`invalid topic "${topic}": ${problem}`);
  }

  [FINISH](): void {
    this.#flags |= DONE;
    const at = this.#peers.indexOf(this);
    if (at >= 0) this.#peers.splice(at, 1);
  }

  [OBSERVE](event: ClientEvent): void {
    if (this.#flags & DONE) return;
    // The one event of every message, first: the diagnoser has nothing to learn from it.
    if (event.type === "message") {
      this.#pending.push(event);
      this[CALL_BACK]();
      return;
    }
    this.#diagnoser?.observe(event);
    switch (event.type) {
      case "closed":
        if (event.cause.kind === "local") return;
        if (this.#flags & NO_RECONNECT) {
          this[FINISH]();
          this.#client.stop("closed");
        }
        break;
      case "connected":
        this[LINE](INFO, "mqtt", "connected", {
          broker: this.broker,
          session: event.sessionPresent ? "resumed" : "new",
          rtt: event.rtt,
          keepalive: event.keepAlive,
          // The broker's name for our session, when the application gave none: the one later connects use.
          client_id: this.#anonymous ? this.#client.id : undefined,
        });
        break;
      case "waiting":
        this[LINE](INFO, "mqtt", "retry", { in_ms: Math.round(event.delay), reason: event.reason });
        return;
      case "warning":
        this[LINE](WARN, "mqtt", "warning", { message: event.message });
        return;
      case "authenticated":
        this[LINE](INFO, "mqtt", "authenticated", { method: event.method });
        return;
      case "socket":
        break;
      default:
        return;
    }
    this.#pending.push(event);
    this[CALL_BACK]();
  }

  /** A line on the serial port, when the level lets it through. */
  [LINE](level: Level, area: string, event: string, fields: Fields): void {
    if (level > this.#level) return;
    const host = this.#host;
    this.#log ??= new Logger(
      (line) => host.serialWrite(`${line}\n`),
      () => host.now(),
      this.#level as Level,
    );
    this.#log.log(level, area, event, fields);
  }

  [CALL_BACK](): void {
    if (this.#flags & FLUSHING) return;
    this.#flags |= FLUSHING;
    this.#timer.schedule(0);
  }

  /** Calls the application back. An exception it throws is not swallowed: the events after it follow later. */
  [FLUSH](): void {
    this.#flags &= ~FLUSHING;
    const pending = this.#pending;
    try {
      while (pending.length) this[DISPATCH](pending.shift()!);
    } finally {
      if (pending.length) this[CALL_BACK]();
    }
  }

  [DISPATCH](event: ClientEvent): void {
    // The event of every message, first.
    if (event.type === "message") {
      const publish = event.publish;
      this.onMessage?.(publish.topic, bufferOf(publish.payload), publish);
      return;
    }
    switch (event.type) {
      case "socket":
        this.onConnected?.();
        return;
      case "connected":
        this.#flags &= ~REPORTED;
        this.onReady?.(event.properties);
        return;
      case "closed":
        if (this.#flags & REPORTED) return;
        this.#flags |= REPORTED;
        this.onClose?.(this.#client.classify(event.cause));
        return;
    }
  }
}

/** Where the id a broker assigned is kept (host storage), for a client without an id of its own. */
const ASSIGNED_ID_KEY = "mqtt.aid";

/**
 * What a configuration holds when the dictionary leaves it out: the prototype of every configuration, frozen, so that
 * it stays in flash with the module (a property of the configuration itself is heap as long as the client lives).
 * What the supervisor assigns later (keepAlive, username, password) must not be here: a frozen prototype's property
 * cannot be assigned over (TypeError in strict code), so configOf makes those the configuration's own.
 */
const DEFAULTS = Object.freeze({
  version: 4,
  cleanStart: true,
  sessionExpiry: 0,
  maxPacketSize: 65536,
  topicAliasMaximum: 8,
  topicAliases: false,
  connectTimeout: 10000,
  connackTimeout: 10000,
  backoff: Object.freeze({
    base: DEFAULT_BASE,
    cap: DEFAULT_CAP,
    stable: DEFAULT_STABLE,
    jitter: DEFAULT_JITTER,
    // Moddable's Client connects when it is made: the fleet window (power-on spread) only when asked for.
    spread: 0,
  }),
  queue: Object.freeze({ count: 100, bytes: 16384 }),
  classify: classifyCause,
  verify: true,
});

/**
 * The supervisor's configuration from the dictionary, with Moddable's defaults where it has them: what differs from
 * DEFAULTS is its own, the rest is read through its prototype (undefined values are left out).
 */
function configOf(options: ClientOptions, webSocket: WebSocketLayer): ClientConfig {
  const version = options.version ?? 4;
  if (version !== 4 && version !== 5) throw new RangeError("version must be 4 (MQTT 3.1.1) or 5");
  const { will, backoff, queue } = options;
  const username = options.user || undefined;
  const brokers = brokersOf(options);
  if (!webSocket && brokers.some((broker) => broker.path !== undefined)) {
    throw new Error("MQTT over WebSocket is not in this build: include hosts/moddable/manifest_websocket.json");
  }
  const own: Partial<ClientConfig> = {
    brokers,
    webSocket,
    clientId: options.id ?? "",
    version: options.version,
    keepAlive: options.keepAlive ?? (options.timeout === undefined ? 60 : Math.ceil(options.timeout / 1000)),
    username,
    password: options.password ? copyOf(options.password) : undefined,
    will: will && {
      topic: will.topic,
      payload: copyOf(will.message),
      qos: qosOf(will.quality ?? 0),
      retain: will.retain === true,
      properties: will.properties,
    },
    cleanStart: options.clean === false ? false : undefined,
    sessionExpiry: options.sessionExpiry,
    maxPacketSize: options.maxPacketSize,
    receiveMaximum: options.receiveMaximum,
    topicAliasMaximum: options.topicAliasMaximum,
    topicAliases: options.topicAliases === true || undefined,
    extras: extrasOf(options, version),
    assignedIdKey: options.id ? undefined : ASSIGNED_ID_KEY,
    backoff: backoff && {
      base: backoff.base ?? DEFAULT_BASE,
      cap: backoff.cap ?? DEFAULT_CAP,
      stable: backoff.stable ?? DEFAULT_STABLE,
      jitter: DEFAULT_JITTER,
      spread: backoff.spread ?? 0,
    },
    queue: queue && { count: queue.count ?? 100, bytes: queue.bytes ?? 16384 },
    ca: options.ca,
    verify: (options.secure as { verify?: unknown } | undefined)?.verify === false ? false : undefined,
  };
  return Object.setPrototypeOf(definedOnly(own), DEFAULTS) as ClientConfig;
}

function brokersOf(options: ClientOptions): Broker[] {
  if (options.brokers !== undefined) {
    const brokers = parseBrokers(options.brokers);
    if (typeof brokers === "string") throw new Error(brokers);
    return brokers;
  }
  if (!options.host) throw new Error("parameter host is required");
  const tls = !!options.secure;
  // A path (any but "", as Moddable's module tests it) asks for MQTT over WebSocket.
  const path = options.path || undefined;
  if (path === undefined) return [{ host: options.host, port: options.port || (tls ? 8883 : 1883), tls }];
  if (!validPath(path)) throw new RangeError(`invalid path "${path}": / then printable ASCII, no spaces`);
  return [{ host: options.host, port: options.port || (tls ? 443 : 80), tls, path }];
}

function qosOf(qos: number): QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError("quality must be 0, 1 or 2");
  return qos;
}

/** The bytes of `data`, read in place where it has bytes: the client copies what it keeps. */
function viewOf(data: Data): Uint8Array {
  // What applications publish most first: text, and Moddable's ArrayBuffer.
  if (typeof data === "string") return toBytes(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return toBytes(String(data));
}

/** A private copy, for what the configuration keeps (the caller may reuse its buffer). */
function copyOf(data: Data): Uint8Array {
  return viewOf(data).slice();
}

/** The payload as an ArrayBuffer of its own (the decoder gives each packet its own copy already). */
function bufferOf(payload: Uint8Array): ArrayBuffer {
  const buffer = payload.buffer as ArrayBuffer;
  // As long as its buffer, the payload is all of it.
  return payload.byteLength === buffer.byteLength ? buffer : (payload.slice().buffer as ArrayBuffer);
}

/** The reason codes a client's DISCONNECT may carry (spec 3.14.2.1). */
const CLIENT_DISCONNECT_CODES: readonly number[] = Object.freeze([
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
]);

/** User properties as `[name, value]` pairs, from pairs or from MQTT.js's object (a list value repeats the name). */
function pairsOf(users: UserProperties): [string, string][] {
  if (Array.isArray(users)) return users;
  const pairs: [string, string][] = [];
  for (const name of Object.keys(users)) {
    const value = users[name];
    if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

function propertiesOf(subscriptionIdentifier: number | undefined, users: UserProperties | undefined): Properties {
  const properties: Properties = {};
  if (subscriptionIdentifier !== undefined) properties.subscriptionIdentifier = [subscriptionIdentifier];
  if (users) properties.userProperties = pairsOf(users);
  return properties;
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  return (
    a.qos === b.qos &&
    !a.noLocal === !b.noLocal &&
    !a.retainAsPublished === !b.retainAsPublished &&
    (a.retainHandling ?? 0) === (b.retainHandling ?? 0)
  );
}

/** The CONNECT's MQTT 5 extras from the dictionary; undefined (nothing kept) when it asks for none. */
function extrasOf(options: ClientOptions, version: ProtocolVersion): ConnectExtras | undefined {
  const p = options.properties;
  const auth = options.auth;
  if (!p && !auth) return undefined;
  if (version !== 5) throw new RangeError("properties and auth need MQTT 5 (version: 5)");
  if (auth && !(typeof auth.method === "string" && auth.method && typeof auth.start === "function")) {
    throw new RangeError("auth needs a method name, start() and challenge()");
  }
  return {
    requestResponseInformation: p?.requestResponseInformation,
    requestProblemInformation: p?.requestProblemInformation,
    userProperties: p?.userProperties && pairsOf(p.userProperties),
    auth,
  };
}
