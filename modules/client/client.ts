// The supervisor: keeps one connection to a broker alive through whatever the network does. It is the thin
// driver between the Host (sockets, timers) and the sans-IO parts: Connection for the protocol, Backoff for when
// to retry, KeepAliveTuner for NAT idle timeouts, the Session for publishes in flight and waiting (bounded).
import { Backoff, type BackoffConfig, type Retry } from "tether/client/backoff";
import type { Broker } from "tether/client/broker";
import {
  type CloseCause,
  type ConnectExtras,
  Connection,
  type ConnectionEvent,
  type ConnectionOptions,
  type ConnectionOutput,
  DEFAULT_MAX_INFLIGHT,
  type Goodbye,
  PROBE_TAKEN,
} from "tether/client/connection";
import type { TransportError, WebSocketDialer, WebSocketHandlers } from "tether/client/transport";
import type { Host, Socket, Timer } from "tether/host";
import { copyOf } from "tether/mqtt/bytes";
import { varintSize } from "tether/mqtt/codec";
import type { Properties, ProtocolVersion, QoS, Subscription, Will } from "tether/mqtt/packets";
import type { QueueLimits } from "tether/mqtt/queue";
import { MAX_SLOTS, type OutMessage, Session, type UnsavedReason } from "tether/mqtt/session";
import { topicNameProblem, validTopicName } from "tether/mqtt/topic";
import { utf8Length } from "tether/mqtt/utf8";

export interface ClientConfig {
  brokers: Broker[];
  clientId: string;
  version: ProtocolVersion;
  /** Seconds. */
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  cleanStart: boolean;
  /** MQTT 5 Session Expiry Interval, seconds. */
  sessionExpiry: number;
  maxPacketSize: number;
  /** ms to wait for TCP (and TLS) to connect. */
  connectTimeout: number;
  /** ms to wait for CONNACK. */
  connackTimeout: number;
  backoff: BackoffConfig;
  /** Bounds of the messages waiting behind the in-flight window or for a connection, at all times. */
  queue: QueueLimits;
  /**
   * Names the cause of a failure with a diagnostics code; the backoff policy acts on it (see causePolicy). Given what
   * the CONNECT said (its version, whether it sent a user name): a function of a module, not a closure over them,
   * which would be heap for as long as the client lives.
   */
  classify: (cause: CloseCause, version: ProtocolVersion, sentUser: boolean) => string;
  /** CA names for mqtts brokers (see TlsOptions). */
  ca?: string[];
  /** Verify the server's certificate (default true); off only for an application that asks, as Moddable's `secure.verify`. */
  verify?: boolean;
  /** Most QoS 1/2 messages in flight at once (see ConnectionOptions.maxInflight). */
  maxInflight?: number;
  /** MQTT 5 Receive Maximum, Topic Alias Maximum and outgoing topic aliases (see ConnectionOptions). */
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAliases?: boolean;
  /** MQTT 5 CONNECT: Request Response and Problem Information, User Properties, enhanced authentication. */
  extras?: ConnectExtras;
  /**
   * MQTT over WebSocket (`tether/client/websocket`'s connectWebSocket), for ws:// and wss:// brokers. Passed in, not
   * imported, so that a build without such brokers carries no WebSocket layer (hosts/moddable/manifest_websocket.json
   * adds it); a ws:// broker without it fails every dial as `ws` `not_built`.
   */
  webSocket?: WebSocketDialer;
  /**
   * With an empty clientId (MQTT 5): the host storage key that keeps the id the broker assigns, so that the next
   * boot resumes the session too. Without it the id is kept until the device restarts.
   */
  assignedIdKey?: string;
}

/** What the supervisor reports, beyond the connection's own events. */
export type ClientEvent =
  | ConnectionEvent
  | {
      type: "connecting";
      broker: Broker;
      attempt: number;
      /**
       * How late the backoff timer that dialled fired, ms after its deadline: how late the device's event loop runs,
       * which the diagnoser allows for in the timing it reads. Absent when dialled at once (no timer).
       */
      late?: number;
    }
  | { type: "resolved"; broker: Broker; address: string }
  | { type: "socket"; broker: Broker; ms: number }
  | { type: "waiting"; delay: number; reason: string; broker: Broker }
  | { type: "link"; up: boolean }
  | { type: "queued"; result: "queued" | "dropped" | "full"; depth: number }
  /**
   * LOOP_REPEATS connections in a row (and again at twice, four times as many...) ended the same way, `cause`, with
   * nothing delivered: the waits grow towards the cap until something is.
   */
  | { type: "loop"; cause: string; count: number }
  /**
   * QoS 1/2 messages the API accepted that a reboot loses (held in RAM only, see Session.losing): `shutdown`, named
   * as the device goes, `count` of them; `power_cut`, found at boot, how many unknown.
   */
  | { type: "unsaved"; when: "shutdown" | "power_cut"; count?: number; reason: UnsavedReason };

/**
 * Who hears what the supervisor reports: an object, not a function, so that one that lives as long as the client
 * (the drop-in's Client, through the object that is already its timer's target) needs no closure in the heap.
 */
export interface Observer {
  observe(event: ClientEvent): void;
}

export type PublishResult = "sent" | "queued" | "dropped" | "full" | "invalid";

/** Connections in a row that end the same way with no progress before the loop detector acts. */
export const LOOP_REPEATS = 3;

const IDLE = 0;
const CONNECTING = 1; // socket being opened
const SESSION = 2; // socket open, Connection running (handshake or up)
const WAITING = 3; // backing off
const NO_LINK = 4; // waiting for the network link
const STOPPED = 5;

/** Where a connection's output goes: the supervisor, which takes its events and closes its socket. */
interface OutputHandler {
  connectionEvent(conn: Connection, event: ConnectionEvent): void;
  dropSocket(): void;
}

/**
 * A connection's output: its bytes go straight to its socket, its messages straight to the observer, and the rest
 * (events, and the close of the socket) to the supervisor, with the connection they come from. A class and no
 * closure, because it lives as long as the connection (the methods are in flash with the module).
 */
class Output implements ConnectionOutput {
  /** The connection's socket, until the supervisor drops it. */
  socket: Socket | undefined;
  /** A message from the broker was handed to the application on this connection: progress (see Client.ended). */
  delivered = false;
  /** The connection this is the output of, set once it is made. */
  conn: Connection | undefined;

  constructor(
    socket: Socket | undefined,
    private readonly handler: OutputHandler,
    private readonly observer: Observer,
  ) {
    this.socket = socket;
  }

  write(bytes: Uint8Array): void {
    this.socket?.write(bytes);
  }
  close(): void {
    this.handler.dropSocket();
  }
  event(event: ConnectionEvent): void {
    if (event.type === "message") {
      this.delivered = true;
      this.observer.observe(event);
    } else this.handler.connectionEvent(this.conn!, event);
  }
}

// The timer's actions.
const DIAL = 0;
const UPGRADE_TIMEOUT = 1;
const TICK = 2;
const NO_WEBSOCKET = 3;

/** Characters of a made client id: what every 3.1.1 server takes [MQTT-3.1.3-5], lower case alone. */
const ID_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `o` without its undefined properties: for what lives long, as a property is a slot of the heap even so. */
export function definedOnly<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}

/** A client id of 23 characters, the most every 3.1.1 server takes [MQTT-3.1.3-5]. */
function madeId(random: () => number): string {
  let id = "tether";
  while (id.length < 23) id += ID_CHARACTERS[Math.floor(random() * ID_CHARACTERS.length)];
  return id;
}

// Capabilities a broker may lack (bits of Client.unsupported and WillState.limits).
const NO_RETAIN = 1;
const NO_WILDCARD = 2;
const NO_SHARED = 4;
const NO_QOS = 8;

/** What a 3.1.1 will is sent without to find out why the broker closes it (see Client.probeWill), in order. */
const WILL_PROBES: readonly number[] = Object.freeze([NO_RETAIN, NO_QOS, NO_RETAIN | NO_QOS]);
/**
 * Rounds in a row that must find the same probe before it is taken as the broker's limit (see Client.probed), and
 * one round in WillState.found (above the probe's bits).
 */
const WILL_ROUNDS = 5;
const WILL_ROUND = 16;

/** CONNACK 0x9A Retain not supported and 0x9B QoS not supported: what refuses a will. */
const RETAIN_NOT_SUPPORTED = 0x9a;
const QOS_NOT_SUPPORTED = 0x9b;

/** CONNACK 0x85 Client Identifier not valid (only 5.0 assigns identifiers). */
const CLIENT_ID_REJECTED = 0x85;

// Client.flags.
/** Connections trace their packets (see Client.trace). */
const TRACE = 1;
/** The next CONNECT asks for a clean start whatever the configuration says (see Client.cleanOnce). */
const CLEAN_NEXT = 2;
/** The client id was made here (see the constructor): said once, at start. */
const MADE_ID = 4;

// Cold state of the supervisor, each group made when first needed: a field is a slot of the heap even when unused.

/**
 * What the will must do without, and the MQTT 3.1.1 probe that finds out why the broker closes it (see
 * Client.adjustWill, Client.probeWill): made with the first limit or probe, so with a will configured only.
 */
class WillState {
  /**
   * What the will must do without (NO_RETAIN: its retain flag; NO_QOS: its QoS, sent at 0), learnt from a CONNACK
   * refusing it (0x9A, 0x9B) or proven by the probe: sent as configured, it would be refused at every attempt.
   */
  limits = 0;
  /**
   * MQTT 3.1.1 connections closed before CONNACK in a row while the will could be why (see Client.probeWill), and
   * what the attempt under way sends the will without to find out (NO_RETAIN, NO_QOS bits; 0: not probing).
   */
  closedBeforeConnack = 0;
  probe = 0;
  /**
   * A probe the broker took but that is not yet proven (see Client.probed): its bits, plus WILL_ROUND for each round
   * in a row that found it (the will as configured closed, this probe taken); 0: none.
   */
  found = 0;
}

/**
 * MQTT 3.1.1 cannot announce a Maximum Packet Size or Maximum QoS: what the broker is known to have read (the
 * largest of our packets, the highest QoS, a retained one) and the limits learnt from that and a packet it closed on
 * (see Client.learnt). Made when the first of our QoS 1/2 messages is read, or quarantined.
 */
class Learning {
  readLargest = 0;
  readQos = 0;
  readRetained = false;
  /** 0: none learnt. */
  maxPacket = 0;
  qos: QoS = 2;
}

/** The loop detector's count (see Client.ended): how the last connections ended with no progress, how many in a row. */
interface Loop {
  cause: string;
  count: number;
}

/**
 * The supervisor. It is the handler of the sockets it opens (onConnect, onData...: its own methods rather than a
 * closure each, which would live as long as the connection); only its current socket calls them, since a closed
 * socket says nothing more (Host.connect).
 */
export class Client implements WebSocketHandlers, OutputHandler {
  private state = IDLE;
  private readonly session: Session;
  /** The id of every CONNECT: the configured one, or the one the broker assigned to our session. */
  private clientId: string;
  private readonly backoff: Backoff<Broker>;
  private readonly subscriptions = new Map<string, Subscription>();
  /** MQTT 5 SUBSCRIBE properties (Subscription Identifier, User Properties) by filter: made when first given. */
  private subscriptionProperties: Map<string, Properties> | undefined;
  /**
   * Filters subscribed or unsubscribed since the broker last confirmed them, with the packet identifier of the
   * SUBSCRIBE or UNSUBSCRIBE that carries the change (0: not sent yet, offline). A resumed session holds only what
   * the broker confirmed: these are sent again after every CONNACK until a SUBACK or UNSUBACK answers them. Made with
   * the first, dropped when all are confirmed.
   */
  private unconfirmed: Map<string, number> | undefined;
  private conn: Connection | undefined;
  private socket: Socket | undefined;
  /** The current connection's output (see Output). */
  private out: Output | undefined;
  /** The one timer: at the connection's next deadline, or the end of the backoff wait. */
  private readonly timer: Timer;
  private timerAt = Number.POSITIVE_INFINITY;
  /** What the timer does when it fires: DIAL, UPGRADE_TIMEOUT, TICK or NO_WEBSOCKET (a number, not a closure: heap). */
  private timerAction = TICK;
  private attempt = 0;
  /**
   * When the last dial started: the next one is never sooner than backoffBase after it, whatever the cause; and how
   * long its socket took to open counts from it.
   */
  private lastDial = Number.NEGATIVE_INFINITY;
  /**
   * QoS 1/2 messages published on this connection, those of them published while its `connected` event was handled
   * (a status, an application's onReady), and ours the broker completed on it (see ended).
   */
  private publishedHere = 0;
  private publishedAtConnect = 0;
  private completedHere = 0;
  /** The loop detector: how the last connections ended with no progress, and how many in a row (see ended). */
  private loop: Loop | undefined;
  /** TRACE, CLEAN_NEXT and MADE_ID: bits of one number, as each field is a slot of the heap. */
  private flags = 0;
  /** The broker's Maximum Packet Size from the last CONNACK (0: none announced). */
  private brokerMaxPacket = 0;
  /** MQTT 3.1.1: what the broker is known to have read, and the limits learnt from it (see learnt). */
  private learning: Learning | undefined;
  /**
   * What the last CONNACK said the broker does not support (5.0; NO_RETAIN, NO_WILDCARD, NO_SHARED bits): kept
   * while offline, as the next broker is most likely the same one.
   */
  private unsupported = 0;
  /** What the will must do without, and the probe that finds out (see adjustWill and probeWill). */
  private willState: WillState | undefined;
  /** The last topic published to and topicLength's answer for it ("" is not a valid topic name). */
  private lastTopic = "";
  private lastTopicLength = -1;

  constructor(
    private readonly host: Host,
    private readonly config: ClientConfig,
    private readonly observer: Observer,
  ) {
    // Kept as long as the client lives.
    definedOnly(config);
    // The session state outlives a reboot in the host's storage when the broker keeps our session: else a reboot
    // mid-flow would resume the broker's session with our packet identifiers forgotten (see docs/ARCHITECTURE.md).
    const keepsSession = !config.cleanStart && (config.version === 4 || config.sessionExpiry > 0);
    this.session = new Session({
      receiveMaximum: config.receiveMaximum,
      queue: config.queue,
      store: host,
      persist: keepsSession,
      slots: Math.min(config.maxInflight ?? DEFAULT_MAX_INFLIGHT, MAX_SLOTS),
    });
    if (keepsSession && this.session.lost) this.flags |= CLEAN_NEXT;
    this.clientId = config.clientId || (config.assignedIdKey ? (host.readSetting(config.assignedIdKey) ?? "") : "");
    if (!this.clientId && config.version === 4 && !config.cleanStart) {
      // [MQTT-3.1.3-7]: 3.1.1 takes an empty id with a clean session only (mosquitto answers CONNACK 2, at every
      // attempt), and gives no id back. A session that lasts, which the application asked for, needs an id of our
      // own: made once, kept as a 5.0 broker's assigned one is (storage when given a key, else until restart).
      this.clientId = madeId(() => host.random());
      this.flags |= MADE_ID;
      if (config.assignedIdKey) host.writeSetting(config.assignedIdKey, this.clientId);
    }
    this.backoff = new Backoff(config.backoff, host, config.brokers);
    // The supervisor itself is what its timer calls (onTimer): a closure would be heap for the client's life.
    this.timer = host.timer(this);
  }

  /** The failure code of a close, for the CONNECT this client sends now (the user name may change: reconnect). */
  classify(cause: CloseCause): string {
    const c = this.config;
    return c.classify(cause, c.version, c.username !== undefined);
  }

  get connected(): boolean {
    return this.conn?.connected === true;
  }

  /** The client id of the next CONNECT: the broker's assigned one once it gave one. */
  get id(): string {
    return this.clientId;
  }

  get broker(): Broker {
    return this.backoff.broker;
  }

  /** Messages waiting behind the in-flight window or for a connection. */
  get queueDepth(): number {
    return this.session.waiting;
  }

  get inflight(): number {
    return this.session.inflight;
  }

  get keepAlive(): number {
    return this.conn?.keepAliveSeconds ?? this.config.keepAlive;
  }

  set trace(on: boolean) {
    this.flags = on ? this.flags | TRACE : this.flags & ~TRACE;
    if (this.conn) this.conn.trace = on;
  }

  /** The device is about to go (a polite shutdown, a reboot): names the QoS 1/2 messages its going loses. */
  leaving(): void {
    const losing = this.session.losing();
    if (losing) this.observer.observe({ type: "unsaved", when: "shutdown", ...losing });
  }

  /** Starts: at power-on (the first start) after the backoff's power-on spread, after a stop() at once. */
  start(): void {
    if (this.state === STOPPED) {
      this.redial("start");
      return;
    }
    if (this.state !== IDLE) return;
    const dropped = this.session.droppedAtBoot;
    if (dropped !== undefined) this.observer.observe({ type: "unsaved", when: "power_cut", reason: dropped });
    if (this.flags & CLEAN_NEXT) {
      this.cleanOnce("the session state of the last run could not all be stored (messages too large or too many)");
    }
    if (this.flags & MADE_ID) {
      const kept = this.config.assignedIdKey ? "kept in storage" : "kept until restart";
      this.observer.observe({
        type: "warning",
        message: `MQTT 3.1.1 takes an empty client id with a clean session only [MQTT-3.1.3-7]: using ${this.clientId}, ${kept}`,
      });
    }
    // With the link down, the spread is drawn when it comes up (linkUp), the moment the fleet shares.
    const first = this.backoff.boot(this.host.now());
    if (first.delay === 0 || !this.host.linkUp()) this.dial();
    else this.wait(first);
  }

  /**
   * Says goodbye to the broker and stays down until start(). With `abort` the socket is closed first, so no
   * DISCONNECT goes out and the broker publishes the will, as after a crash.
   */
  stop(reason: string, abort = false, goodbye?: Goodbye): void {
    this.state = STOPPED;
    this.cancelTimer();
    if (abort) this.dropSocket();
    if (this.conn) this.conn.disconnect(this.host.now(), reason, goodbye);
    else this.dropSocket();
  }

  /**
   * Calls `done(true)` once the broker has read everything sent so far on this connection, `done(false)` if it ends
   * first (see Connection.confirm). False when not connected.
   */
  confirm(done: (read: boolean) => void): boolean {
    const conn = this.conn;
    if (!conn?.confirm(this.host.now(), done)) return false;
    this.rearm();
    return true;
  }

  /** MQTT 5: re-authenticates with the configured method (see Connection.reauthenticate); false when it cannot. */
  reauthenticate(): boolean {
    return this.conn?.reauthenticate(this.host.now()) === true;
  }

  /**
   * Drops the connection and dials again now, or once backoffBase has passed since the last dial. `credentials`, the
   * user name and password as set now, replace the ones the client started with, for this dial and the later ones:
   * a password fixed in place is used at once.
   */
  reconnect(reason: string, credentials?: { username?: string; password?: Uint8Array }): void {
    if (credentials) {
      this.config.username = credentials.username;
      this.config.password = credentials.password;
    }
    if (this.conn) this.conn.disconnect(this.host.now(), reason);
    else this.dropSocket();
    this.cancelTimer();
    this.redial(reason);
  }

  /**
   * A round of the will probe (see probed) dials as soon as backoffBase allows, not after a backoff: the broker has
   * just taken a probe, and a device rebooted against a broker that lacks what its will asks for must prove it
   * again before it connects (chaos seed 50002: five rounds behind a growing backoff took more than 30 s).
   */
  private nextRound(reason: string): void {
    this.cancelTimer();
    if (this.state !== STOPPED) this.redial(reason);
  }

  /** Dials now if the last dial is backoffBase ago, else waits for that. */
  private redial(reason: string): void {
    const now = this.host.now();
    if (now - this.lastDial >= this.config.backoff.base) this.dial();
    else this.wait({ delay: 0, waitForLink: false, broker: this.broker, capped: false, reason });
  }

  setKeepAlive(seconds: number): void {
    this.config.keepAlive = seconds;
  }

  linkChanged(up: boolean): void {
    this.observer.observe({ type: "link", up });
    if (up) {
      if (this.state === NO_LINK) this.wait(this.backoff.linkUp(this.host.now()));
      return;
    }
    if (this.conn || this.socket) this.lost({ code: "unreachable", detail: "link_down" });
  }

  /**
   * Publishes, or queues while offline or behind the in-flight window, within the queue's bounds. `invalid`: the
   * message can never be sent (its topic, or its size against our limit or the broker's), said in a warning.
   * `payload` is read during the call only: a message that is kept (QoS 1 and 2, or waiting) keeps a copy.
   */
  /** `transient`: never stored for the session, whatever it is (see OutMessage). */
  publish(
    topic: string,
    payload: Uint8Array,
    qos: QoS,
    retain: boolean,
    properties?: Properties,
    transient?: boolean,
  ): PublishResult {
    const problem = this.refusal(topic, payload, qos, retain);
    if (problem) {
      this.observer.observe({ type: "warning", message: `publish to ${topic} refused: ${problem}` });
      return "invalid";
    }
    const conn = this.conn?.connected ? this.conn : undefined;
    // A QoS 0 message that leaves at once is encoded now and kept nowhere: no copy, and nothing for the session.
    if (qos === 0 && conn !== undefined && this.session.releasesNow) {
      conn.publishNow(topic, payload, retain, properties, this.host.now());
      return "sent";
    }
    const message: OutMessage = { topic, payload: copyOf(payload, 0, payload.length), qos, retain, properties };
    if (transient) message.transient = true;
    const before = this.session.dropped;
    let result: PublishResult;
    if (conn) {
      if (qos > 0) this.publishedHere++;
      result = conn.publish(message, this.host.now());
      // Only a message the broker must answer can bring the next deadline closer (see KeepAlive.expectAnswer).
      if (qos > 0) this.rearm();
    } else {
      // Offline the session releases nothing: the answer is the waiting queue's.
      const queued = this.session.publish(message);
      result = typeof queued === "string" ? queued : "sent";
    }
    if (result === "sent") return result;
    const depth = this.session.waiting;
    // Every QoS 0 message pushed out to make room is a drop of its own, for the counters.
    for (let n = this.session.dropped - before - (result === "dropped" ? 1 : 0); n > 0; n--) {
      this.observer.observe({ type: "queued", result: "dropped", depth });
    }
    this.observer.observe({ type: "queued", result, depth });
    return result;
  }

  /**
   * The topic's length in UTF-8, or -1 when it is not a valid topic name. The last topic's answer is kept: a device
   * publishes to the same few topics, and XS reads a string's characters by scanning it from the start.
   */
  topicLength(topic: string): number {
    if (topic !== this.lastTopic) {
      this.lastTopic = topic;
      this.lastTopicLength = validTopicName(topic) ? utf8Length(topic) : -1;
    }
    return this.lastTopicLength;
  }

  /** False once the broker said it does not keep retained messages (MQTT 5 Retain Available 0). */
  get retainAvailable(): boolean {
    return (this.unsupported & NO_RETAIN) === 0;
  }

  /** Why a message can never be sent, or undefined. Properties are left to the encoder (see Connection). */
  private refusal(topic: string, payload: Uint8Array, qos: QoS, retain: boolean): string | undefined {
    // The caller (the drop-in) has just asked topicLength, most likely: its answer is read without a call.
    const length = topic === this.lastTopic ? this.lastTopicLength : this.topicLength(topic);
    if (length < 0) return `not a valid topic name: ${topicNameProblem(topic)}`;
    if (retain && !this.retainAvailable)
      return "retained, and the broker keeps no retained messages (MQTT 5 Retain Available 0, or found in 3.1.1)";
    const theirs = this.brokerMaxPacket;
    const learnt = this.learning?.maxPacket;
    // Within every limit even at the most a PUBLISH adds (fixed header 5, topic length 2, packet identifier 2, 5.0's
    // property length 1): no need to count exactly, which costs a call per message.
    const most = length + payload.length + 10;
    if (most <= this.config.maxPacketSize && (theirs === 0 || most <= theirs) && (!learnt || most <= learnt)) {
      return undefined;
    }
    const size = this.packetSize(length, payload.length, qos);
    const ours = this.config.maxPacketSize;
    if (size > ours) return `a packet of ${size} bytes exceeds maxPacketSize (${ours})`;
    if (theirs && size > theirs)
      return `a packet of ${size} bytes exceeds the broker's Maximum Packet Size (${theirs})`;
    if (learnt && size > learnt)
      return `a packet of ${size} bytes exceeds what the broker takes (${learnt}, learnt from its closes)`;
    return undefined;
  }

  /** A PUBLISH's size: fixed header, topic, packet identifier, payload, and in 5.0 the property length (one byte). */
  private packetSize(topicLength: number, payloadLength: number, qos: QoS): number {
    const body = 2 + topicLength + (qos > 0 ? 2 : 0) + payloadLength + (this.config.version === 5 ? 1 : 0);
    return body + (body < 0x80 ? 2 : 1 + varintSize(body));
  }

  /** MQTT 3.1.1: one of our messages the broker read (see learnt). */
  private took(message: OutMessage): void {
    // Counting the topic's UTF-8 bytes is most of the cost here; most messages go to the last topic published to.
    const topic = message.topic;
    const length = topic === this.lastTopic ? this.lastTopicLength : utf8Length(topic);
    const size = this.packetSize(length, message.payload.length, message.qos);
    let learning = this.learning;
    if (!learning) {
      learning = new Learning();
      this.learning = learning;
    }
    if (size > learning.readLargest) learning.readLargest = size;
    if (message.qos > learning.readQos) learning.readQos = message.qos;
    if (message.retain) learning.readRetained = true;
  }

  /**
   * MQTT 3.1.1: the broker closed the connection twice right after `message` (quarantined). When one thing about it
   * is new to the broker and the others are not (it read packets as large, at that QoS, retained), that one is why:
   * mosquitto drops the client unread for a packet over its max_packet_size or a QoS over its max_qos, which 3.1.1
   * cannot announce. Such messages are then refused (too large) or sent downgraded (QoS), as a 5.0 broker's Maximum
   * Packet Size and Maximum QoS have them, instead of costing two closes each (chaos seeds 9042, 9097: one after
   * another quarantined in turn, never drained).
   */
  private learnt(message: OutMessage): void {
    const size = this.packetSize(utf8Length(message.topic), message.payload.length, message.qos);
    this.learning ??= new Learning();
    const learning = this.learning;
    const { readLargest, readQos } = learning;
    const large = size > readLargest;
    const qos = message.qos > readQos;
    if (message.retain && !learning.readRetained) return;
    const read = `(MQTT 3.1.1 cannot announce it; mosquitto: ${large ? "max_packet_size" : "max_qos"})`;
    if (large && !qos && !(learning.maxPacket && size > learning.maxPacket)) {
      learning.maxPacket = size - 1;
      this.observer.observe({
        type: "warning",
        message: `the broker closed the connection twice right after a packet of ${size} bytes, larger than any it read (${readLargest}) ${read}: packets over ${learning.maxPacket} bytes are refused from now on`,
      });
    } else if (qos && !large && readQos > 0 && readQos < learning.qos) {
      learning.qos = readQos as QoS;
      this.observer.observe({
        type: "warning",
        message: `the broker closed the connection twice right after a QoS ${message.qos} message, no larger than others it read at QoS ${readQos} ${read}: messages leave at QoS ${readQos} at most from now on`,
      });
    }
  }

  /** The next connection starts clean (and says why): the broker's session cannot be trusted or must be shed. */
  private cleanOnce(why: string): void {
    this.flags |= CLEAN_NEXT;
    this.observer.observe({ type: "warning", message: `next connection starts a clean session: ${why}` });
  }

  /** The subscription to `topicFilter` kept for reconnects, if any. */
  subscription(topicFilter: string): Subscription | undefined {
    return this.subscriptions.get(topicFilter);
  }

  /**
   * Subscribes now if connected, else after the next CONNACK (a resumed session too), and again after every
   * reconnect that finds no session. MQTT 5 `properties` (a Subscription Identifier, User Properties) are kept with
   * it: such a subscription is renewed in a SUBSCRIBE of its own, since they belong to the packet. -1: refused, as
   * the broker does not support the filter (a wildcard or a shared subscription), said in a warning.
   */
  subscribe(subscription: Subscription, properties?: Properties): number {
    const filter = subscription.topicFilter;
    const problem = this.unsupportedFilter(filter);
    if (problem) {
      this.observer.observe({ type: "warning", message: `subscribe to ${filter} refused: ${problem}` });
      return -1;
    }
    this.subscriptions.set(filter, subscription);
    if (properties) {
      this.subscriptionProperties ??= new Map();
      this.subscriptionProperties.set(filter, properties);
    } else this.subscriptionProperties?.delete(filter);
    const id = this.conn?.connected ? this.conn.subscribe([subscription], this.host.now(), properties) : 0;
    this.unconfirm(filter, id);
    return id;
  }

  /** The MQTT 5 properties the subscription to `topicFilter` was made with, if any. */
  subscribedWith(topicFilter: string): Properties | undefined {
    return this.subscriptionProperties?.get(topicFilter);
  }

  /**
   * What the broker (as its last CONNACK described it) lacks for `filter`, or undefined. Sent, such a SUBSCRIBE
   * would end the connection (0xA2, 0x9E), and, kept for reconnects, every next one.
   */
  unsupportedFilter(filter: string): string | undefined {
    const lacks = this.unsupported;
    if (lacks & NO_SHARED && filter.startsWith("$share/")) return "the broker has Shared Subscription Available 0";
    if (lacks & NO_WILDCARD && (filter.indexOf("+") >= 0 || filter.indexOf("#") >= 0)) {
      return "the broker has Wildcard Subscription Available 0";
    }
    return undefined;
  }

  /** Unsubscribes now if connected, else after the next CONNACK that resumes a session. */
  unsubscribe(topicFilter: string, properties?: Properties): number {
    this.subscriptions.delete(topicFilter);
    this.subscriptionProperties?.delete(topicFilter);
    const id = this.conn?.connected ? this.conn.unsubscribe([topicFilter], this.host.now(), properties) : 0;
    this.unconfirm(topicFilter, id);
    return id;
  }

  /**
   * After CONNACK: without a session every subscription goes out again; with one, the changes the broker has not
   * confirmed (made offline, or whose SUBSCRIBE or UNSUBSCRIBE went unanswered when the connection died).
   */
  private renew(conn: Connection, sessionPresent: boolean): void {
    const unconfirmed = this.unconfirmed;
    if (!sessionPresent) {
      // The broker holds nothing of ours: unsubscribes have nothing left to undo.
      this.unconfirmed = undefined;
      if (this.subscriptions.size) this.sendSubscribes(conn, [...this.subscriptions.values()]);
      return;
    }
    if (!unconfirmed) return;
    const subscribe: Subscription[] = [];
    const unsubscribe: string[] = [];
    for (const filter of unconfirmed.keys()) {
      const subscription = this.subscriptions.get(filter);
      if (subscription) subscribe.push(subscription);
      else unsubscribe.push(filter);
    }
    if (subscribe.length) this.sendSubscribes(conn, subscribe);
    if (unsubscribe.length) {
      const id = conn.unsubscribe(unsubscribe, this.host.now());
      for (const filter of unsubscribe) unconfirmed.set(filter, id);
    }
  }

  /**
   * Sends `subscriptions`, each unconfirmed until its SUBACK: those without properties in one SUBSCRIBE, each of the
   * others in its own.
   */
  private sendSubscribes(conn: Connection, subscriptions: Subscription[]): void {
    const now = this.host.now();
    const withProperties = this.subscriptionProperties;
    const plain: Subscription[] = [];
    for (const subscription of subscriptions) {
      const filter = subscription.topicFilter;
      const properties = withProperties?.get(filter);
      if (properties) this.unconfirm(filter, conn.subscribe([subscription], now, properties));
      else plain.push(subscription);
    }
    if (!plain.length) return;
    const id = conn.subscribe(plain, now);
    for (const subscription of plain) this.unconfirm(subscription.topicFilter, id);
  }

  /** `filter` waits for the broker to confirm it, in the SUBSCRIBE or UNSUBSCRIBE `id` (0: not sent yet). */
  private unconfirm(filter: string, id: number): void {
    this.unconfirmed ??= new Map();
    this.unconfirmed.set(filter, id);
  }

  /** A SUBACK or UNSUBACK answered `packetId`: the changes it carried are the broker's now. */
  private confirmed(packetId: number): void {
    const unconfirmed = this.unconfirmed;
    if (!unconfirmed) return;
    for (const [filter, id] of unconfirmed) if (id === packetId) unconfirmed.delete(filter);
    if (unconfirmed.size === 0) this.unconfirmed = undefined;
  }

  /** Dials now; `due` is the deadline of the timer that called, if one did. */
  private dial(due?: number): void {
    if (!this.host.linkUp()) {
      this.state = NO_LINK;
      this.observer.observe({
        type: "waiting",
        delay: -1,
        reason: "network link down: waiting for it",
        broker: this.broker,
      });
      return;
    }
    const broker = this.broker;
    this.state = CONNECTING;
    this.attempt++;
    const now = this.host.now();
    this.lastDial = now;
    const late = due === undefined ? undefined : Math.max(0, now - due);
    this.observer.observe({ type: "connecting", broker, attempt: this.attempt, late });
    const options = {
      host: broker.host,
      port: broker.port,
      timeout: this.config.connectTimeout,
      tls: broker.tls ? { serverName: broker.host, verify: this.config.verify ?? true, ca: this.config.ca } : undefined,
    };
    const path = broker.path;
    if (path === undefined) {
      this.socket = this.host.connect(options, this);
      return;
    }
    const webSocket = this.config.webSocket;
    if (!webSocket) {
      // Said as a failure of the dial, on the timer's next turn (as a socket's errors come), and retried with backoff.
      this.armAt(this.host.now(), NO_WEBSOCKET);
      return;
    }
    // Over WebSocket the socket's connect is followed by the upgrade, which gets as long as a CONNACK would.
    this.socket = webSocket(this.host, options, { host: broker.host, port: broker.port, tls: broker.tls, path }, this);
  }

  // The socket's handlers.
  onResolved(address: string): void {
    this.observer.observe({ type: "resolved", broker: this.broker, address });
  }

  onUpgrading(): void {
    this.armAt(this.host.now() + this.config.connackTimeout, UPGRADE_TIMEOUT);
  }

  onConnect(): void {
    this.opened();
  }

  onData(bytes: Uint8Array): void {
    const conn = this.conn;
    if (!conn) return;
    conn.receive(bytes, this.host.now());
    this.rearm();
  }

  onWritable(): void {}

  onError(error: TransportError): void {
    if (this.socket) this.lost(error);
  }

  private opened(): void {
    this.cancelTimer(); // the WebSocket upgrade's deadline
    const now = this.host.now();
    this.observer.observe({ type: "socket", broker: this.broker, ms: now - this.lastDial });
    this.state = SESSION;
    const c = this.config;
    // A probe asks whether the broker takes the will so (see probed); the last of its rounds connects for real, with
    // what it is about to prove.
    const probe = this.willState?.probe ?? 0;
    const proving = probe !== 0 && this.roundsFound(probe) === WILL_ROUNDS - 1;
    const limits = this.willLimits | (proving ? probe : 0);
    const out = new Output(this.socket, this, this.observer);
    this.out = out;
    // The configuration is the options' prototype: own are only what differs on this connection, what the supervisor
    // may change while it lives (keepAlive: see setKeepAlive), and the version, read at every packet. Undefined ones
    // are left out (a slot each as long as the connection lives): the username and password read through then, which
    // only the CONNECT does, at once. Made own here and not assigned later, as the configuration may read through a
    // frozen prototype itself (see modules/compat/mqtt.ts), whose properties no assignment may shadow.
    const will = this.will();
    const options: ConnectionOptions = Object.setPrototypeOf(
      definedOnly<Partial<ConnectionOptions>>({
        version: c.version,
        clientId: this.clientId,
        keepAlive: c.keepAlive,
        username: c.username,
        password: c.password,
        cleanStart: this.flags & CLEAN_NEXT ? true : undefined,
        will: will === c.will ? undefined : will,
        noRetain: limits & NO_RETAIN ? true : undefined,
        maxQoS: this.maxQoS(limits),
        learntMaxPacket: this.learning?.maxPacket || undefined,
        probe: probe && !proving ? true : undefined,
      }),
      c,
    );
    const conn = new Connection(options, this.session, out);
    out.conn = conn;
    conn.trace = (this.flags & TRACE) !== 0;
    this.conn = conn;
    conn.start(now);
    this.rearm();
  }

  /** An event of `conn`'s (OutputHandler): the current connection's, or a late one of an older one. */
  connectionEvent(conn: Connection, event: ConnectionEvent): void {
    if (event.type === "connected") {
      this.backoff.connected(this.host.now());
      // Only a client that sent no id may be given one (spec 3.2.2.3.7): the configured id stays the configured id.
      if (!this.config.clientId) this.assigned(event.properties?.assignedClientIdentifier || undefined);
      this.attempt = 0;
      this.flags &= ~CLEAN_NEXT;
      const p = event.properties;
      this.brokerMaxPacket = p?.maximumPacketSize ?? 0;
      if (this.config.version === 4 && this.config.will) this.willTaken();
      this.unsupported =
        (p?.retainAvailable === 0 ? NO_RETAIN : 0) |
        (p?.wildcardSubscriptionAvailable === 0 ? NO_WILDCARD : 0) |
        (p?.sharedSubscriptionAvailable === 0 ? NO_SHARED : 0) |
        (this.config.version === 4 ? this.willLimits & NO_RETAIN : 0);
      if (this.unsupported) this.dropUnsupported();
      this.publishedHere = this.completedHere = 0;
      this.renew(conn, event.sessionPresent);
      this.observer.observe(event);
      this.publishedAtConnect = this.publishedHere;
      return;
    }
    if (event.type === "completed" && event.completion.ok) {
      this.completedHere++;
      if (this.config.version === 4) this.took(event.completion.message);
    }
    if (event.type === "quarantined" && this.config.version === 4) {
      // Named first (message_quarantined), then what it teaches.
      this.observer.observe(event);
      this.learnt(event.message);
      return;
    }
    if (event.type === "subscribed" || event.type === "unsubscribed") this.confirmed(event.packetId);
    if (event.type === "closed") {
      this.conn = undefined;
      this.observer.observe(event);
      const { cause } = event;
      if (cause.kind === "protocol" && cause.code === "packet_too_large" && !this.config.cleanStart) {
        // MQTT 5: the broker sent more than the maximum we announced, and would send it again at every resumption.
        this.cleanOnce("the broker's session holds a message larger than maxPacketSize, which it would resend");
      }
      if (cause.kind === "local" && cause.reason === PROBE_TAKEN) {
        this.probed();
        this.nextRound("the will as configured next");
      }
      // A close of our own (stop, reconnect) is followed by whatever its caller does next, not by a backoff.
      else if (cause.kind !== "local") {
        this.probeWill(cause.kind === "net" && cause.error.code === "closed" && event.uptime < 0);
        if (event.uptime >= 0) this.ended(cause, event.uptime);
        if (this.willState?.found && this.willState.probe) this.nextRound("the will probe's next round");
        else this.retry(cause, event.uptime);
      }
      return;
    }
    this.observer.observe(event);
  }

  /** Subscriptions kept for reconnects that this broker does not support are given up, each with a line. */
  private dropUnsupported(): void {
    for (const filter of [...this.subscriptions.keys()]) {
      const problem = this.unsupportedFilter(filter);
      if (!problem) continue;
      this.subscriptions.delete(filter);
      this.subscriptionProperties?.delete(filter);
      this.unconfirmed?.delete(filter);
      this.observer.observe({ type: "warning", message: `subscription to ${filter} given up: ${problem}` });
    }
  }

  /**
   * A CONNACK refused the will for a capability the broker lacks (0x9A retain, 0x9B QoS): the next attempts send
   * it without, said once. Sent as configured, it would be refused at every attempt, for ever.
   */
  private adjustWill(reasonCode: number): void {
    const will = this.config.will;
    const limit =
      reasonCode === RETAIN_NOT_SUPPORTED && will?.retain
        ? NO_RETAIN
        : reasonCode === QOS_NOT_SUPPORTED && will && will.qos > 0
          ? NO_QOS
          : 0;
    if (!limit || this.willLimits & limit) return;
    this.willState ??= new WillState();
    this.willState.limits |= limit;
    const what = limit === NO_RETAIN ? "retained messages (CONNACK 0x9A)" : "its QoS (CONNACK 0x9B)";
    const how = limit === NO_RETAIN ? "without retain" : "at QoS 0";
    this.observer.observe({
      type: "warning",
      message: `the broker refused the will: it does not support ${what}; sent ${how} from now on`,
    });
  }

  /**
   * MQTT 3.1.1 cannot say why a CONNECT is refused: mosquitto closes the connection before CONNACK, at every attempt
   * for ever, when the will is retained and it keeps no retained messages (retain_available false), or when the
   * will's QoS is above its max_qos. After two such closes in a row, the next attempts send the will without one of
   * those, then the other, then both (WILL_PROBES): the first the broker takes may say why (probed). After the last
   * the count starts again. Once a probe was taken, one close of the will as configured starts the next round.
   * `closed`: this attempt ended so.
   */
  private probeWill(closed: boolean): void {
    const will = this.config.will;
    const possible =
      this.config.version === 4 && will
        ? (will.retain && !(this.willLimits & NO_RETAIN) ? NO_RETAIN : 0) |
          (will.qos > 0 && !(this.willLimits & NO_QOS) ? NO_QOS : 0)
        : 0;
    if (!closed || !possible) {
      // Anything else (a reset, a refusal, a connection that ended later) breaks the rounds: the probes start again.
      this.probeOver();
      return;
    }
    this.willState ??= new WillState();
    const w = this.willState;
    // The probe found closed too: the rounds start again. Each round tries the probes from the first, so that one
    // closed by the network cannot leave a wider one (without retain and QoS) to be proven in its place.
    if (this.roundsFound(w.probe)) w.found = 0;
    if (!w.probe && ++w.closedBeforeConnack < (w.found ? 1 : 2)) return;
    // The next probe this will can make after the one that just failed (or the first).
    let at = WILL_PROBES.indexOf(w.probe) + 1;
    while (at < WILL_PROBES.length && WILL_PROBES[at] & ~possible) at++;
    w.probe = at < WILL_PROBES.length ? WILL_PROBES[at] : 0;
    w.closedBeforeConnack = 0;
  }

  /** What the will must do without (see WillState.limits). */
  private get willLimits(): number {
    return this.willState?.limits ?? 0;
  }

  /** The probe's rounds are over: what they proved (the will's limits) stays, the state goes when that is nothing. */
  private probeOver(): void {
    const w = this.willState;
    if (!w?.limits) this.willState = undefined;
    else w.closedBeforeConnack = w.probe = w.found = 0;
  }

  /**
   * The broker closes a connection before CONNACK for many reasons (a network's faults look the same), so the probe
   * it took is one round of evidence, not proof: a probe's connection ends as soon as the broker takes it (see
   * ConnectionOptions.probe), and the will as configured is tried again. WILL_ROUNDS rounds in a row (the will as
   * configured closed, the probe taken) prove why; the last one connects for real with what it proves. A probe only
   * taken once, and applied to the messages of its connection, sent QoS 1 and 2 messages at QoS 0, lost with it
   * (soak seed 191858: a proxy closed two attempts in a row).
   */
  private probed(): void {
    const w = this.willState!;
    const probe = w.probe;
    w.probe = 0;
    const rounds = this.roundsFound(probe) + 1;
    w.found = probe + rounds * WILL_ROUND;
    // Said at the first round; the next ones tell whether the will or the network closed the attempts.
    if (rounds === 1)
      this.observer.observe({ type: "warning", message: `${this.willClosed(probe)}: checking, ${WILL_ROUNDS} rounds` });
  }

  /** The rounds in a row that found `probe` so far (see WillState.found); 0 for another probe, or none. */
  private roundsFound(probe: number): number {
    const found = this.willState?.found ?? 0;
    return probe && found % WILL_ROUND === probe ? Math.floor(found / WILL_ROUND) : 0;
  }

  /**
   * A 3.1.1 connection with a will got its CONNACK. Sent as configured, the will was not why earlier attempts were
   * closed: a probe found is forgotten. Sent as the last round of a probe (see probed), the broker lacks what it
   * left out: without retain, retained publishes are refused; without the will's QoS, messages leave at most a QoS
   * below it (as an MQTT 5 broker's Maximum QoS has them).
   */
  private willTaken(): void {
    const probe = this.willState?.probe;
    if (probe) this.willState!.limits |= probe;
    this.probeOver();
    if (!probe) return;
    const from: string[] = [];
    if (probe & NO_RETAIN) from.push("the will is sent without retain and retained publishes are refused");
    if (probe & NO_QOS) from.push(`the will goes at QoS 0 and messages leave at QoS ${this.maxQoS()} at most`);
    this.observer.observe({
      type: "warning",
      message: `${this.willClosed(probe)}, ${WILL_ROUNDS} times in a row: ${from.join("; ")} from now on`,
    });
  }

  /** What the broker did with the will and `probe`, and what it may mean. */
  private willClosed(probe: number): string {
    const will = this.config.will!;
    const what: string[] = [];
    if (probe & NO_RETAIN) what.push("retained");
    if (probe & NO_QOS) what.push(`at QoS ${will.qos}`);
    const took = probe === NO_QOS ? "at QoS 0" : probe === NO_RETAIN ? "unretained" : "unretained at QoS 0";
    const why =
      probe & NO_QOS ? (probe & NO_RETAIN ? "retain_available false, max_qos" : "max_qos") : "retain_available false";
    return `the broker closed the connection before CONNACK while the will was ${what.join(" and ")}, and took it ${took} (MQTT 3.1.1 cannot say why; mosquitto: ${why})`;
  }

  /**
   * MQTT 3.1.1: the most QoS the broker takes, below a will's it closed the CONNECT for (see probed) or a message's
   * it closed the connection on (see learnt); 5.0's CONNACK says it.
   */
  private maxQoS(limits = this.willLimits): QoS | undefined {
    const will = this.config.will;
    const byWill = will && limits & NO_QOS ? will.qos - 1 : 2;
    const most = Math.min(byWill, this.learning?.qos ?? 2);
    return this.config.version === 4 && most < 2 ? (most as QoS) : undefined;
  }

  /** The will as the broker takes it (see adjustWill and probeWill). */
  private will(): Will | undefined {
    const will = this.config.will;
    const without = this.willLimits | (this.willState?.probe ?? 0);
    if (!will || !without) return will;
    return { ...will, retain: without & NO_RETAIN ? false : will.retain, qos: without & NO_QOS ? 0 : will.qos };
  }

  /**
   * The loop detector. A connection made progress when it lasted backoffStable, delivered a message to the
   * application, or completed more of our messages than were published as it started (work from before it or from
   * its life, not only the status or the onReady messages every connection sends). LOOP_REPEATS connections in a row that end the same way without progress are a
   * loop, whatever made it (a message or command the broker or we choke on, a twin, a proxy): it is named, and the
   * backoff grows towards the cap, whatever the cause's policy, until progress.
   */
  private ended(cause: CloseCause, uptime: number): void {
    const progress =
      uptime >= this.config.backoff.stable ||
      this.out?.delivered === true ||
      this.completedHere > this.publishedAtConnect;
    const code = this.classify(cause);
    if (progress) {
      this.loop = undefined;
      this.backoff.looping = false;
      return;
    }
    if (this.loop?.cause !== code) this.loop = { cause: code, count: 0 };
    const count = ++this.loop.count;
    if (count < LOOP_REPEATS) return;
    this.backoff.looping = true;
    // Named at LOOP_REPEATS, then at each doubling: a loop is said, not printed at every turn.
    const turns = count / LOOP_REPEATS;
    if (Number.isInteger(turns) && (turns & (turns - 1)) === 0)
      this.observer.observe({ type: "loop", cause: code, count });
  }

  /**
   * The broker named our session (we sent an empty id): every later CONNECT uses that name, or it would find no
   * session and leave one orphaned on the broker each time (spec 3.2.2.3.7). "" gives the name back.
   */
  private assigned(id: string | undefined): void {
    if (id === undefined || id === this.clientId) return;
    this.clientId = id;
    const key = this.config.assignedIdKey;
    if (key) this.host.writeSetting(key, id || undefined);
  }

  /** The socket died before or after the MQTT session started. */
  private lost(error: TransportError): void {
    const conn = this.conn;
    if (conn) {
      conn.socketFailed(error, this.host.now());
      return;
    }
    this.dropSocket();
    const cause: CloseCause = { kind: "net", error };
    this.observer.observe({ type: "closed", cause, uptime: -1, idle: 0 });
    this.retry(cause, -1);
  }

  private retry(cause: CloseCause, uptime: number): void {
    this.cancelTimer();
    // An assigned id the broker refuses (another broker, or it was reset) is given back: the next CONNECT asks for
    // a new one instead of being refused for ever.
    if (cause.kind === "connack" && cause.reasonCode === CLIENT_ID_REJECTED && !this.config.clientId) this.assigned("");
    if (cause.kind === "connack") this.adjustWill(cause.reasonCode);
    if (this.state === STOPPED) return;
    const now = this.host.now();
    const code = this.classify(cause);
    const info =
      cause.kind === "connack" || cause.kind === "server_disconnect"
        ? { reasonCode: cause.reasonCode, serverReference: cause.serverReference }
        : undefined;
    this.wait(uptime < 0 ? this.backoff.failed(now, code, info) : this.backoff.disconnected(now, code, info));
  }

  private wait(next: Retry<Broker>): void {
    if (next.waitForLink && !this.host.linkUp()) {
      this.state = NO_LINK;
      this.observer.observe({ type: "waiting", delay: -1, reason: next.reason, broker: next.broker });
      return;
    }
    this.state = WAITING;
    const now = this.host.now();
    // Whatever the cause and its policy, never two dials within backoffBase: no loop can dial faster.
    const floor = this.lastDial + this.config.backoff.base - now;
    const delay = Math.max(next.delay, floor);
    const reason = delay > next.delay ? `${next.reason}; one dial per backoffBase at most` : next.reason;
    this.observer.observe({ type: "waiting", delay, reason, broker: next.broker });
    this.armAt(now + delay, DIAL);
  }

  /** Closes the socket, now or when its connection asks (OutputHandler). */
  dropSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (this.out) this.out.socket = undefined;
    socket?.close();
  }

  /** The one timer is due (TimerCallback): what it was armed for (timerAction) happens now. */
  onTimer(): void {
    const due = this.timerAt;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.timerFired(due);
  }

  private timerFired(due: number): void {
    if (this.timerAction === DIAL) {
      // A host's timer may fire a little early (a board counts from the start of the turn that set it): the floor
      // between dials holds all the same.
      const early = this.lastDial + this.config.backoff.base - this.host.now();
      if (early > 0) this.armAt(this.host.now() + early, DIAL);
      else this.dial(due);
    } else if (this.timerAction === UPGRADE_TIMEOUT) {
      if (this.state === CONNECTING) this.lost({ code: "ws", detail: "response_timeout" });
    } else if (this.timerAction === NO_WEBSOCKET) {
      if (this.state === CONNECTING) this.lost({ code: "ws", detail: "not_built" });
    } else {
      const conn = this.conn;
      if (!conn) return;
      conn.tick(this.host.now());
      this.rearm();
    }
  }

  /** Keeps the timer armed at the connection's next deadline (an earlier one only moves it). */
  private rearm(): void {
    const conn = this.conn;
    if (!conn) return;
    const at = conn.deadline();
    if (at >= this.timerAt) return;
    this.armAt(at, TICK);
  }

  private armAt(at: number, action: number): void {
    this.cancelTimer();
    if (at === Number.POSITIVE_INFINITY) return;
    this.timerAt = at;
    this.timerAction = action;
    this.timer.schedule(Math.max(0, at - this.host.now()));
  }

  private cancelTimer(): void {
    if (this.timerAt !== Number.POSITIVE_INFINITY) this.timer.cancel();
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
