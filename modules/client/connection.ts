// One connection's life, from CONNECT to close, as a sans-IO state machine. The driver hands it bytes, socket
// failures and the time; it answers through its Output (bytes to write, close the socket, events). The Session
// outlives connections, so in-flight messages survive a reconnect.
import type { TransportError } from "tether/client/transport";
import { CodecError, Decoder, Encoder, type SkippedPublish } from "tether/mqtt/codec";
import { effectiveKeepAlive, KeepAlive } from "tether/mqtt/keepalive";
import {
  AUTH,
  type Auth,
  CONNACK,
  CONNECT,
  type Connack,
  DISCONNECT,
  type Disconnect,
  type Packet,
  PINGREQ,
  PINGRESP,
  type Properties,
  type ProtocolVersion,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  type Publish,
  type QoS,
  SUBACK,
  SUBSCRIBE,
  type Subscription,
  UNSUBACK,
  UNSUBSCRIBE,
  type Will,
} from "tether/mqtt/packets";
import type { QueueResult } from "tether/mqtt/queue";
import { reasonText } from "tether/mqtt/reasons";
import type { Completion, OutMessage, Session } from "tether/mqtt/session";

export interface ConnectionOptions {
  version: ProtocolVersion;
  clientId: string;
  cleanStart: boolean;
  /** Seconds; 0 disables pings. */
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  /** MQTT 5 Session Expiry Interval in seconds (0: the session ends with the connection). */
  sessionExpiry?: number;
  /** Largest packet we accept; also the encoder's limit until the broker announces its own. */
  maxPacketSize: number;
  /** How long to wait for CONNACK after CONNECT, in ms. */
  connackTimeout: number;
  /**
   * Our own cap on QoS 1/2 messages in flight, below the broker's Receive Maximum. A 3.1.1 broker cannot announce
   * its limit, yet has one (mosquitto: max_inflight_messages, 20), and answers a publish beyond it with a success
   * ack for a message it drops: in 3.1.1 an ack cannot carry a reason code. Default DEFAULT_MAX_INFLIGHT.
   */
  maxInflight?: number;
  /**
   * The broker is known to keep no retained messages though its CONNACK cannot say so (3.1.1): retained PUBLISHes
   * are not sent, as with Retain Available 0.
   */
  noRetain?: boolean;
  /** The most QoS the broker is known to take though its CONNACK cannot say so (3.1.1): as Maximum QoS. */
  maxQoS?: QoS;
  /** The largest packet the broker is known to take though its CONNACK cannot say so (3.1.1): as Maximum Packet Size. */
  learntMaxPacket?: number;
  /**
   * Only whether the broker takes this CONNECT is asked (see Client.probed): once it does, DISCONNECT ends the
   * connection (the will unpublished) before anything of the session is sent, and it closes as a local close.
   */
  probe?: boolean;
  /** MQTT 5 Receive Maximum we announce: QoS 1/2 PUBLISHes the broker may leave unanswered (absent: 65535). */
  receiveMaximum?: number;
  /** MQTT 5 Topic Alias Maximum we announce: the aliases the broker may use towards us (0 or absent: none). */
  topicAliasMaximum?: number;
  /**
   * MQTT 5: give each topic we publish to an alias of its own, up to the broker's Topic Alias Maximum, so that
   * later messages to it carry two bytes instead of the topic name (a radio link's bytes). Aliases that callers
   * set themselves are then left out: one owner of the alias space.
   */
  topicAliases?: boolean;
  /** MQTT 5 extras of the CONNECT; absent (the usual case) costs nothing. */
  extras?: ConnectExtras;
}

/** What an MQTT 5 CONNECT may carry beyond the basics, and the enhanced authentication it starts. */
export interface ConnectExtras {
  /** MQTT 5: ask for Response Information in CONNACK (spec 3.1.2.11.6), a base for response topics. */
  requestResponseInformation?: boolean;
  /**
   * MQTT 5: false asks the broker to leave Reason Strings and User Properties out of everything but PUBLISH, CONNACK
   * and DISCONNECT (spec 3.1.2.11.7); a radio link's bytes. Absent: the broker's default, true.
   */
  requestProblemInformation?: boolean;
  /** MQTT 5 User Properties of the CONNECT, in order. */
  userProperties?: [string, string][];
  /** MQTT 5 enhanced authentication (AUTH): the method, and the data of each step. */
  auth?: Authenticator;
}

/**
 * An MQTT 5 enhanced authentication method (spec 4.12): SCRAM, Kerberos, a token... Its steps only: the connection
 * sends and receives the AUTH packets, and fails the connection when a step gives up.
 */
export interface Authenticator {
  /** The Authentication Method, as the broker knows it ("SCRAM-SHA-256"...). */
  readonly method: string;
  /** The Authentication Data of the CONNECT, or of the AUTH that starts a re-authentication; undefined: none. */
  start(): Uint8Array | undefined;
  /** The answer to the broker's challenge (AUTH 0x18 Continue authentication); false gives up. */
  challenge(data: Uint8Array | undefined): Uint8Array | undefined | false;
  /**
   * The broker's last step (CONNACK, or AUTH 0x00 after a re-authentication) and its data: false when the broker does
   * not prove itself (a SCRAM server signature that does not match), which ends the connection.
   */
  done?(data: Uint8Array | undefined): boolean;
}

/** What the client's DISCONNECT says (MQTT 5; 3.1.1's has nothing). */
export interface Goodbye {
  /** 0x00 Normal disconnection (the default), 0x04 Disconnect with Will Message, or an error code (spec 3.14.2.1). */
  reasonCode?: number;
  /** A new Session Expiry Interval, seconds; not above 0 when the CONNECT said 0 (spec 3.14.2.2.2). */
  sessionExpiry?: number;
  reasonString?: string;
  userProperties?: [string, string][];
}

/** mosquitto's default max_inflight_messages, which it also announces as its Receive Maximum in MQTT 5. */
export const DEFAULT_MAX_INFLIGHT = 20;

/** The reason of a probe's local close once the broker took its CONNECT (see ConnectionOptions.probe). */
export const PROBE_TAKEN = "probe: the broker took this CONNECT";

/** Why a connection ended: the facts the diagnostics classify. */
export type CloseCause =
  /** The socket failed or the peer closed it (code `closed`: no DISCONNECT came first). */
  | { kind: "net"; error: TransportError }
  /** The broker refused the CONNECT; MQTT 5 may name another server to use (0x9C, 0x9D). */
  | { kind: "connack"; reasonCode: number; reasonString?: string; serverReference?: string }
  | { kind: "connack_timeout"; waited: number }
  /** The broker sent DISCONNECT (MQTT 5). */
  | { kind: "server_disconnect"; reasonCode: number; reasonString?: string; serverReference?: string }
  /** The broker sent bytes that are not valid MQTT, or a valid packet at the wrong time. */
  | { kind: "protocol"; code: string; message: string }
  /** No PINGRESP (nor anything else) within the ping timeout. */
  | { kind: "keepalive_timeout"; waited: number; idle: number }
  /** We closed it: disconnect() or shutdown. */
  | { kind: "local"; reason: string };

export type ConnectionEvent =
  | {
      type: "connected";
      sessionPresent: boolean;
      properties?: Properties;
      /** CONNECT to CONNACK, ms. */
      rtt: number;
      /** The effective keep alive, seconds. */
      keepAlive: number;
      /** QoS 1/2 messages the broker had forgotten (no session) that are sent again as new publishes. */
      requeued: number;
      /** PUBLISHes sent again with DUP to a resumed session. */
      resent: number;
    }
  | {
      type: "closed";
      cause: CloseCause;
      /** Milliseconds since CONNACK, or -1 when the handshake never completed. */
      uptime: number;
      /** Milliseconds since the last packet from the broker when the connection ended. */
      idle: number;
    }
  | { type: "message"; publish: Publish }
  /** A PUBREC that accepted a QoS 2 message: the broker has it, PUBREL and PUBCOMP follow. */
  | { type: "received"; packetId: number; reasonCode: number; reasonString?: string }
  /**
   * `ack` is the packet type that ended the flow (PUBACK, PUBREC refusing it, or PUBCOMP), or PUBLISH when the
   * device gave the message up itself (it could not be sent).
   */
  | { type: "completed"; completion: Completion; ack: number; reasonString?: string }
  | { type: "subscribed"; packetId: number; topicFilters: string[]; reasonCodes: number[]; reasonString?: string }
  | { type: "unsubscribed"; packetId: number; reasonCodes: number[]; reasonString?: string }
  | { type: "pong"; rtt: number }
  /** A re-authentication the device started (AUTH 0x19) ended with the broker's AUTH 0x00 Success. */
  | { type: "authenticated"; method: string }
  /**
   * One of our messages that the broker closed the connection after, again after it was resent: taken out of the
   * session (see Session.quarantine), or it would be resent at every reconnect, in a loop. `cause`: the last close.
   */
  | { type: "quarantined"; message: OutMessage; closes: number; cause: CloseCause }
  /** A PUBLISH over our maximum packet size, skipped and acknowledged unread (3.1.1). */
  | { type: "skipped"; topic: string; qos: QoS; size: number; max: number }
  /** Something odd that does not end the connection (an ack for an unknown packet id). */
  | { type: "warning"; message: string }
  /** Every packet both ways, when tracing is on. `size` is its encoded length. */
  | { type: "packet"; direction: "in" | "out"; packet: Packet; size: number };

export interface ConnectionOutput {
  write(bytes: Uint8Array): void;
  close(): void;
  event(event: ConnectionEvent): void;
}

const HANDSHAKE = 0;
const UP = 1;
const CLOSED = 2;

// MQTT 5 reason codes this file sends or reacts to (spec 2.4).
const MALFORMED_PACKET = 0x81;
const PROTOCOL_ERROR = 0x82;
const PACKET_TOO_LARGE = 0x95;
const RETAIN_NOT_SUPPORTED = 0x9a;
const TOPIC_ALIAS_INVALID = 0x94;
const UNSPECIFIED_ERROR = 0x80;
const CONTINUE_AUTHENTICATION = 0x18;
const REAUTHENTICATE = 0x19;

/**
 * Topic aliases on a connection (MQTT 5), made at CONNACK when either side allows any: a connection without them
 * (every 3.1.1 one) holds none of this. They live as long as the connection.
 */
interface Aliases {
  /** The broker's Topic Alias Maximum: our aliases must stay within it (spec 3.2.2.3.8). */
  max: number;
  /** Ours, by topic (with `topicAliases`). */
  out: Map<string, number> | undefined;
  /** The broker's: topics by alias (with our Topic Alias Maximum). */
  in: Map<number, string> | undefined;
}

/** A caller of confirm, waiting. */
interface Confirm {
  /** PINGRESPs still to read, up to the one that answers the PINGREQ sent for it. */
  left: number;
  done: (read: boolean) => void;
}

// What the broker does not take (Connection.refused).
const NO_RETAIN = 1;
const NO_SUBSCRIPTION_IDS = 2;

export class Connection {
  trace = false;
  private state = HANDSHAKE;
  private readonly encoder: Encoder;
  private readonly decoder: Decoder;
  private readonly keepAlive: KeepAlive;
  /** When the state began: start (HANDSHAKE: the CONNACK's deadline and round trip), CONNACK (UP: the uptime). */
  private since = 0;
  private brokerMaxPacket = 0;
  /**
   * NO_RETAIN: the broker has Retain Available 0 (5.0), or is known to keep no retained messages (noRetain): a
   * retained PUBLISH would end the connection. NO_SUBSCRIPTION_IDS: Subscription Identifier Available 0 (5.0).
   */
  private refused = 0;
  /** The PUBLISH being skipped (see skipped) was reported at its header. */
  private skipNamed = false;
  private aliases: Aliases | undefined;
  /** Filters of each SUBSCRIBE awaiting its SUBACK, so a refusal can name them: made with the first, dropped when all are answered. */
  private pendingSubscribes: Map<number, string[]> | undefined;
  /** PINGREQs written less PINGRESPs read on this connection (the broker answers in order). */
  private unanswered = 0;
  /** What waits for the broker to have read everything sent before it (see confirm): made with the first. */
  private confirms: Confirm[] | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly session: Session,
    private readonly out: ConnectionOutput,
  ) {
    this.encoder = new Encoder(128, options.maxPacketSize);
    this.decoder = new Decoder(options.version, options.maxPacketSize);
    this.keepAlive = new KeepAlive(options.keepAlive);
  }

  get connected(): boolean {
    return this.state === UP;
  }

  /** The effective keep alive in seconds (the broker may override ours in MQTT 5). */
  get keepAliveSeconds(): number {
    return this.keepAlive.keepAlive;
  }

  /** The socket is open: send CONNECT. */
  start(now: number): void {
    const o = this.options;
    const properties: Properties = {};
    if (o.version === 5) {
      if (o.sessionExpiry) properties.sessionExpiryInterval = o.sessionExpiry;
      if (o.receiveMaximum !== undefined && o.receiveMaximum < 65535) properties.receiveMaximum = o.receiveMaximum;
      properties.maximumPacketSize = o.maxPacketSize;
      if (o.topicAliasMaximum) properties.topicAliasMaximum = o.topicAliasMaximum;
      const x = o.extras;
      if (x?.requestResponseInformation) properties.requestResponseInformation = 1;
      if (x?.requestProblemInformation === false) properties.requestProblemInformation = 0;
      if (x?.userProperties?.length) properties.userProperties = x.userProperties;
      if (x?.auth) this.authProperties(properties, x.auth.start());
    }
    this.since = now;
    // Idle (see end) counts from here until something is read.
    this.keepAlive.lastReceived = now;
    // A CONNECT that cannot be encoded (larger than maxPacketSize, a string brokers refuse) would time out at every
    // attempt, for ever: the connection ends as one of ours, which the supervisor does not retry; the warning says why.
    const unsent = this.send(
      {
        type: CONNECT,
        protocolVersion: o.version,
        clientId: o.clientId,
        cleanStart: o.cleanStart,
        keepAlive: o.keepAlive,
        username: o.username,
        password: o.password,
        will: o.will,
        properties: o.version === 5 ? properties : undefined,
      },
      now,
    );
    if (unsent) this.end({ kind: "local", reason: "the CONNECT cannot be sent: fix the configuration" }, now);
  }

  /** Bytes from the socket, in any chunking. */
  receive(bytes: Uint8Array, now: number): void {
    if (this.state === CLOSED) return;
    // Any byte proves the link alive, not only a whole packet: a large one crawling through a slow link must not be
    // taken for silence while the PINGRESP waits behind it.
    this.keepAlive.received(now);
    this.decoder.push(bytes);
    for (;;) {
      const packet = this.decoder.next();
      if (packet === undefined || this.state === CLOSED) return;
      if (packet instanceof CodecError) {
        if (packet.skipped) {
          this.skipped(packet.skipped, now);
          continue;
        }
        const reason = packet.code === "packet_too_large" ? PACKET_TOO_LARGE : MALFORMED_PACKET;
        this.fail({ kind: "protocol", code: packet.code, message: packet.message }, now, reason);
        return;
      }
      if (this.trace) this.out.event({ type: "packet", direction: "in", packet, size: this.decoder.length });
      this.handle(packet, now);
    }
  }

  /** The socket failed or the peer closed it. */
  socketFailed(error: TransportError, now: number): void {
    this.end({ kind: "net", error }, now);
  }

  /** When the driver should call tick() next (an absolute time), or Infinity for never. */
  deadline(): number {
    if (this.state === HANDSHAKE) return this.since + this.options.connackTimeout;
    if (this.state === UP) return this.keepAlive.nextDeadline();
    return Number.POSITIVE_INFINITY;
  }

  tick(now: number): void {
    if (this.state === HANDSHAKE && now >= this.since + this.options.connackTimeout) {
      this.fail({ kind: "connack_timeout", waited: now - this.since }, now, 0);
      return;
    }
    if (this.state !== UP) return;
    const due = this.keepAlive.check(now);
    if (due === "ping") this.ping(now);
    else if (due === "timeout") {
      this.fail(
        { kind: "keepalive_timeout", waited: this.keepAlive.pingTimeout, idle: now - this.keepAlive.lastReceived },
        now,
        0,
      );
    }
  }

  /**
   * Publishes through the session, which keeps QoS 1 and 2 until completed, even across reconnects, and keeps
   * every QoS in publish order behind the broker's Receive Maximum. What became of it: `sent`, or the waiting
   * queue's answer (see Session.publish).
   */
  publish(message: OutMessage, now: number): "sent" | QueueResult {
    const packet = this.session.publish(message);
    if (typeof packet === "string") return packet;
    // One packet is sent as it is: the array sendReleased takes is made only when it cannot be.
    const unsent = this.send(packet, now);
    if (unsent && packet.packetId) this.sendReleased(this.abandon(packet.packetId, unsent), now);
    return "sent";
  }

  /**
   * A QoS 0 PUBLISH that the session lets leave at once (Session.releasesNow), sent as `publish` would send it,
   * without the message the session would make of it first, and, in the common case, without a packet object.
   */
  publishNow(
    topic: string,
    payload: Uint8Array,
    retain: boolean,
    properties: Properties | undefined,
    now: number,
  ): void {
    // What send does beyond encoding: properties, a retain flag the broker refuses, a topic alias, a traced packet.
    if (properties !== undefined || (retain && this.refused & NO_RETAIN) || this.aliases?.out || this.trace) {
      this.send({ type: PUBLISH, topic, payload, qos: 0, retain, dup: false, properties }, now);
      return;
    }
    const bytes = this.encoder.encodePublish0(topic, payload, retain, this.options.version);
    // What unsendable looks for, in line: this runs for every message, and a call costs as much as the checks.
    if (bytes instanceof CodecError || (this.brokerMaxPacket !== 0 && bytes.length > this.brokerMaxPacket)) {
      this.unsendable(bytes, PUBLISH);
      return;
    }
    this.keepAlive.sent(now);
    this.out.write(bytes);
  }

  /** Sends SUBSCRIBE; returns its packet id, or 0 when not connected or out of identifiers. */
  subscribe(subscriptions: Subscription[], now: number, properties?: Properties): number {
    if (properties?.subscriptionIdentifier !== undefined && this.refused & NO_SUBSCRIPTION_IDS) {
      // The broker would end the connection with 0xA1, and a subscription kept for reconnects would end every one.
      const message =
        "SUBSCRIBE with a subscription identifier not sent: the broker has Subscription Identifier Available 0";
      this.out.event({ type: "warning", message });
      return 0;
    }
    const packetId = this.state === UP ? (this.session.allocate() ?? 0) : 0;
    if (packetId) {
      this.pendingSubscribes ??= new Map();
      this.pendingSubscribes.set(
        packetId,
        subscriptions.map((s) => s.topicFilter),
      );
      this.send({ type: SUBSCRIBE, packetId, subscriptions, properties }, now);
    }
    return packetId;
  }

  unsubscribe(topicFilters: string[], now: number, properties?: Properties): number {
    const packetId = this.state === UP ? (this.session.allocate() ?? 0) : 0;
    if (packetId) this.send({ type: UNSUBSCRIBE, packetId, topicFilters, properties }, now);
    return packetId;
  }

  /**
   * MQTT 5: starts a re-authentication (AUTH 0x19) with the method of the CONNECT; false when there is none or the
   * connection is not up. The broker answers with AUTH (an `authenticated` event) or ends the connection.
   */
  reauthenticate(now: number): boolean {
    const auth = this.options.extras?.auth;
    if (this.state !== UP || !auth || this.options.version !== 5) return false;
    const properties: Properties = {};
    this.authProperties(properties, auth.start());
    this.send({ type: AUTH, reasonCode: REAUTHENTICATE, properties }, now);
    return true;
  }

  /** Sends a PINGREQ now (the self-test's round trip); the answer arrives as a `pong` event. */
  ping(now: number): void {
    if (this.state !== UP) return;
    this.send({ type: PINGREQ }, now);
    this.unanswered++;
    this.session.pinged();
    this.keepAlive.pingSent(now);
  }

  /**
   * Calls `done(true)` once the broker has read everything sent so far (a PINGREQ sent now is answered: it reads in
   * order), or `done(false)` if the connection ends first. A remote command acts only then: its PUBACK is known to
   * be the broker's, which will not deliver it again. Acting as soon as the PUBACK was written, a command that closes
   * the connection (reconnect) could beat a broker that was about to drop us for something earlier in the pipe (a
   * packet over its 3.1.1 max_packet_size): the PUBACK unread, the command came again at every connection, and
   * each close was our own, which neither quarantine nor the loop detector counts. False when not connected.
   */
  confirm(now: number, done: (read: boolean) => void): boolean {
    if (this.state !== UP) return false;
    this.ping(now);
    this.confirms ??= [];
    this.confirms.push({ left: this.unanswered, done });
    return true;
  }

  /**
   * A clean goodbye: DISCONNECT, then close. The will is not published, unless an MQTT 5 `goodbye` asks for it
   * (0x04); it may also change the Session Expiry Interval and carry a reason string and user properties.
   */
  disconnect(now: number, reason: string, goodbye?: Goodbye): void {
    if (this.state === CLOSED) return;
    if (this.state === UP) this.send(this.goodbye(goodbye), now);
    this.end({ kind: "local", reason }, now);
  }

  private goodbye(goodbye: Goodbye | undefined): Disconnect {
    const packet: Disconnect = { type: DISCONNECT, reasonCode: 0 };
    if (!goodbye || this.options.version !== 5) return packet;
    const { reasonCode = 0, sessionExpiry, reasonString, userProperties } = goodbye;
    packet.reasonCode = reasonCode;
    const properties: Properties = {};
    let any = false;
    if (sessionExpiry !== undefined) {
      // From 0 in the CONNECT to anything else is a Protocol Error (MQTT-3.14.2-2): the broker would end the session
      // with a DISCONNECT of its own. Said, and left out.
      if (sessionExpiry > 0 && !this.options.sessionExpiry) {
        this.out.event({
          type: "warning",
          message: `session expiry ${sessionExpiry} on DISCONNECT left out: the CONNECT asked for 0 (the session ends now)`,
        });
      } else {
        properties.sessionExpiryInterval = sessionExpiry;
        any = true;
      }
    }
    if (reasonString !== undefined) {
      properties.reasonString = reasonString;
      any = true;
    }
    if (userProperties?.length) {
      properties.userProperties = userProperties;
      any = true;
    }
    if (any) packet.properties = properties;
    return packet;
  }

  private authProperties(properties: Properties, data: Uint8Array | undefined): void {
    properties.authenticationMethod = this.options.extras!.auth!.method;
    if (data) properties.authenticationData = data;
  }

  /** An AUTH from the broker: a challenge to answer, or the end of a re-authentication. */
  private authenticate(packet: Auth, now: number): void {
    const auth = this.options.extras?.auth;
    const p = packet.properties;
    const method = p?.authenticationMethod;
    let problem: string;
    if (!auth) problem = "AUTH from the broker, but no enhanced authentication was started";
    else if (method !== auth.method) problem = `AUTH for method ${method ?? "(none)"}, not ${auth.method}`;
    else if (packet.reasonCode === CONTINUE_AUTHENTICATION) {
      const answer = auth.challenge(p?.authenticationData);
      if (answer === false) {
        const message = `${auth.method}: the broker's challenge was refused`;
        this.fail({ kind: "protocol", code: "auth_failed", message }, now, UNSPECIFIED_ERROR);
        return;
      }
      const properties: Properties = {};
      this.authProperties(properties, answer);
      this.send({ type: AUTH, reasonCode: CONTINUE_AUTHENTICATION, properties }, now);
      return;
    } else if (packet.reasonCode === 0 && this.state === UP) {
      if (this.proven(p?.authenticationData, now)) this.out.event({ type: "authenticated", method: auth.method });
      return;
    } else problem = `AUTH with reason ${packet.reasonCode} during ${this.state === UP ? "re-" : ""}authentication`;
    this.fail({ kind: "protocol", code: "protocol_error", message: problem }, now, PROTOCOL_ERROR);
  }

  /** The method's check of the broker's last step; false (and the connection failed) when it does not hold. */
  private proven(data: Uint8Array | undefined, now: number): boolean {
    const auth = this.options.extras?.auth;
    if (!auth?.done || auth.done(data)) return true;
    const message = `${auth.method}: the broker's last authentication step does not prove it`;
    this.fail({ kind: "protocol", code: "auth_failed", message }, now, UNSPECIFIED_ERROR);
    return false;
  }

  private handle(packet: Packet, now: number): void {
    if (this.state === HANDSHAKE) {
      if (packet.type === CONNACK) this.connack(packet, now);
      else if (packet.type === AUTH) this.authenticate(packet, now);
      else this.fail(unexpected(packet), now, PROTOCOL_ERROR);
      return;
    }
    switch (packet.type) {
      case PUBLISH: {
        const alias = packet.properties?.topicAlias;
        if (alias !== undefined && !this.unalias(packet, alias, now)) return;
        const result = this.session.onPublish(packet);
        if (result.error) {
          const { reasonCode, text } = result.error;
          this.fail({ kind: "protocol", code: "receive_maximum", message: text }, now, reasonCode);
          return;
        }
        // Acknowledged before it is handed on: what the application does with it (a command that reconnects or
        // reboots, an exception) cannot keep the ack from leaving, or the broker would deliver it again at every
        // reconnect, in a loop.
        if (result.send) this.send(result.send, now);
        if (result.deliver) this.out.event({ type: "message", publish: packet });
        return;
      }
      case PUBACK:
      case PUBREC:
      case PUBCOMP: {
        const result = this.session.onAck(packet);
        const reasonString = packet.properties?.reasonString;
        if (result.error) {
          const v = this.options.version;
          const said = packet.reasonCode
            ? ` (${reasonText(packet.reasonCode, packet.type, v)}${quoted(reasonString)})`
            : "";
          this.out.event({ type: "warning", message: `${result.error.text}${said}` });
        }
        this.sendReleased(result.send, now);
        if (result.completed) {
          this.out.event({ type: "completed", completion: result.completed, ack: packet.type, reasonString });
        } else if (packet.type === PUBREC && !result.error) {
          const { packetId, reasonCode } = packet;
          this.out.event({ type: "received", packetId, reasonCode, reasonString });
        }
        return;
      }
      case PUBREL:
        this.send(this.session.onPubrel(packet), now);
        return;
      case SUBACK:
      case UNSUBACK:
        if (!this.session.release(packet.packetId)) {
          this.out.event({
            type: "warning",
            message: `${packet.type === SUBACK ? "SUBACK" : "UNSUBACK"} for unknown id`,
          });
          return;
        }
        if (packet.type === SUBACK) {
          const { packetId, reasonCodes } = packet;
          const pending = this.pendingSubscribes;
          const topicFilters = pending?.get(packetId) ?? [];
          pending?.delete(packetId);
          if (pending?.size === 0) this.pendingSubscribes = undefined;
          const reasonString = packet.properties?.reasonString;
          this.out.event({ type: "subscribed", packetId, topicFilters, reasonCodes, reasonString });
        } else {
          const { packetId, reasonCodes } = packet;
          this.out.event({
            type: "unsubscribed",
            packetId,
            reasonCodes,
            reasonString: packet.properties?.reasonString,
          });
        }
        return;
      case PINGRESP: {
        const rtt = this.keepAlive.pingResponse(now);
        // A resumption that waited for this answer sends what it held back (see Session.resume), with a PINGREQ
        // right behind the suspect: its answer clears it, so that only a close before that answer counts against the
        // message, not a link cut at any time after (a flaky link would quarantine good messages).
        const held = this.session.probed();
        if (held.length) {
          this.sendReleased(held, now);
          this.ping(now);
        }
        if (rtt !== undefined) this.out.event({ type: "pong", rtt });
        this.unanswered--;
        const confirms = this.confirms;
        for (const waiting of confirms ?? []) waiting.left--;
        while (confirms?.length && confirms[0].left <= 0 && this.state === UP) confirms.shift()!.done(true);
        return;
      }
      case DISCONNECT: {
        const p = packet.properties;
        this.end(
          {
            kind: "server_disconnect",
            reasonCode: packet.reasonCode,
            reasonString: p?.reasonString,
            serverReference: p?.serverReference,
          },
          now,
        );
        return;
      }
      case AUTH:
        this.authenticate(packet, now);
        return;
      default:
        this.fail(unexpected(packet), now, PROTOCOL_ERROR);
    }
  }

  /**
   * A PUBLISH over our maximum, skipped by the decoder (3.1.1): reported as soon as its header has arrived (on a
   * slow link the rest may take hours), and once all of it has passed acknowledged as if delivered, so that the
   * broker does not send it again at every reconnect.
   */
  private skipped(skipped: SkippedPublish, now: number): void {
    this.keepAlive.received(now);
    const { topic, qos, packetId, size, done } = skipped;
    const named = this.skipNamed;
    this.skipNamed = !done;
    if (!named) this.out.event({ type: "skipped", topic, qos, size, max: this.options.maxPacketSize });
    if (!done) return;
    const publish: Publish = { type: PUBLISH, topic, payload: new Uint8Array(0), qos, retain: false, dup: false };
    if (packetId) publish.packetId = packetId;
    // Traced as what was read of it: its header, without the payload it was skipped for.
    if (this.trace) this.out.event({ type: "packet", direction: "in", packet: publish, size });
    if (qos > 0 && packetId) {
      const result = this.session.onPublish(publish);
      if (result.send) this.send(result.send, now);
    }
  }

  private connack(packet: Connack, now: number): void {
    const p = packet.properties;
    if (packet.reasonCode !== 0) {
      const { reasonString, serverReference } = p ?? {};
      this.end({ kind: "connack", reasonCode: packet.reasonCode, reasonString, serverReference }, now);
      return;
    }
    if (packet.sessionPresent && this.options.cleanStart) {
      // The broker claims a session we asked it to discard: nothing it holds for us can be trusted (MQTT-3.2.2-4).
      const message = "CONNACK with session present answering a clean start";
      this.fail({ kind: "protocol", code: "protocol_error", message }, now, PROTOCOL_ERROR);
      return;
    }
    if (this.options.extras?.auth && this.options.version === 5 && !this.proven(p?.authenticationData, now)) return;
    if (this.options.probe) {
      this.send({ type: DISCONNECT, reasonCode: 0 }, now);
      this.end({ kind: "local", reason: PROBE_TAKEN }, now);
      return;
    }
    const rtt = now - this.since;
    this.state = UP;
    this.since = now;
    this.brokerMaxPacket = p?.maximumPacketSize ?? this.options.learntMaxPacket ?? 0;
    this.refused =
      (p?.retainAvailable === 0 || this.options.noRetain ? NO_RETAIN : 0) |
      (p?.subscriptionIdentifiersAvailable === 0 ? NO_SUBSCRIPTION_IDS : 0);
    const { topicAliases, topicAliasMaximum } = this.options;
    const max = p?.topicAliasMaximum ?? 0;
    if (this.options.version === 5 && (max || topicAliasMaximum)) {
      const out = topicAliases && max ? new Map<string, number>() : undefined;
      this.aliases = { max, out, in: topicAliasMaximum ? new Map() : undefined };
    }
    this.keepAlive.start(now, effectiveKeepAlive(this.options.keepAlive, p?.serverKeepAlive));
    this.session.protocolVersion = this.options.version;
    const resumed = this.session.resume(
      packet.sessionPresent,
      Math.min(p?.receiveMaximum ?? 65535, this.options.maxInflight ?? DEFAULT_MAX_INFLIGHT),
      Math.min(p?.maximumQoS ?? 2, this.options.maxQoS ?? 2) as QoS,
    );
    // Resends leave before the event: its handler publishes (a status), and those must not overtake messages
    // already in flight, or a subscriber would see them out of order (spec 4.6).
    let resent = 0;
    for (const resend of resumed.send) if (resend.type === PUBLISH && resend.dup) resent++;
    this.sendReleased(resumed.send, now);
    // The oldest message is one the broker closed the last connection after: a PINGREQ first, and the messages
    // once the broker answers it (see Session.resume).
    if (resumed.suspect) this.ping(now);
    this.out.event({
      type: "connected",
      sessionPresent: packet.sessionPresent,
      properties: p,
      rtt,
      keepAlive: this.keepAlive.keepAlive,
      requeued: resumed.requeued,
      resent,
    });
  }

  /**
   * An incoming PUBLISH with a Topic Alias: learns the alias (topic given) or puts its topic in (topic empty).
   * False when the alias breaks the rules (spec 3.3.2.3.4): the connection is failed.
   */
  private unalias(packet: Publish, alias: number, now: number): boolean {
    const aliases = this.aliases?.in;
    const max = this.options.topicAliasMaximum ?? 0;
    let problem = "";
    if (!aliases || alias > max) problem = `broker used topic alias ${alias}, above our Topic Alias Maximum ${max}`;
    else if (packet.topic !== "") aliases.set(alias, packet.topic);
    else if (aliases.has(alias)) packet.topic = aliases.get(alias)!;
    else problem = `broker used topic alias ${alias} before giving its topic`;
    if (problem) this.fail({ kind: "protocol", code: "topic_alias", message: problem }, now, TOPIC_ALIAS_INVALID);
    return problem === "";
  }

  /**
   * A PUBLISH as it leaves on this connection. Aliases are the connection's: a caller's alias above the broker's
   * Topic Alias Maximum is left out (the broker would end the connection with 0x94, and the message, sent again,
   * would end the next one too), and with `topicAliases` the connection picks them. The session's packet is not
   * changed: it is sent again, on another connection, with other aliases.
   */
  private outgoing(packet: Publish): Publish {
    const properties = packet.properties;
    const given = properties?.topicAlias;
    const max = this.aliases?.max ?? 0;
    const aliases = this.aliases?.out;
    if (given !== undefined && (aliases || given > max)) {
      if (!aliases) {
        this.out.event({
          type: "warning",
          message: `topic alias ${given} above the broker's Topic Alias Maximum ${max}: sent without it`,
        });
      }
      const { topicAlias: _, ...rest } = properties!;
      packet = { ...packet, properties: rest };
    }
    if (!aliases) return packet;
    const known = aliases.get(packet.topic);
    if (known !== undefined) return { ...packet, topic: "", properties: { ...packet.properties, topicAlias: known } };
    // When all are taken the first topics keep theirs: a device publishes to a few topics, the same ones again.
    if (aliases.size >= max) return packet;
    return { ...packet, properties: { ...packet.properties, topicAlias: aliases.size + 1 } };
  }

  /**
   * Sends what the session released. A PUBLISH that cannot be sent (too large for the broker, unencodable) is
   * given up with a failed completion, so that it does not hold its identifier and window slot for ever; giving
   * it up may release more.
   */
  private sendReleased(packets: Packet[], now: number): void {
    for (let i = 0; i < packets.length; i++) {
      const packet = packets[i];
      const unsent = this.send(packet, now);
      if (!unsent || packet.type !== PUBLISH || !packet.packetId) continue;
      for (const p of this.abandon(packet.packetId, unsent)) packets.push(p);
    }
  }

  /** Gives up one of our flights that cannot be sent, for `reasonCode`; returns what that releases. */
  private abandon(packetId: number, reasonCode: number): Packet[] {
    const result = this.session.abandon(packetId, reasonCode);
    if (result.completed) this.out.event({ type: "completed", completion: result.completed, ack: PUBLISH });
    return result.send;
  }

  /**
   * Encodes and writes one packet. 0 when written, else why not as a reason code: 0x95 Packet too large (ours or the
   * broker's maximum), 0x81 Malformed Packet (it cannot be encoded: an invalid property, say), 0x9A Retain not
   * supported (a retained PUBLISH queued or stored before this broker said it keeps none: sent, it would end this
   * connection and, sent again, every next one).
   */
  private send(packet: Packet, now: number): number {
    const version = this.options.version;
    if (packet.type === PUBLISH) {
      if (packet.retain && this.refused & NO_RETAIN) {
        this.out.event({
          type: "warning",
          message: `retained publish to ${packet.topic} not sent: the broker has Retain Available 0`,
        });
        return RETAIN_NOT_SUPPORTED;
      }
      if (version === 5) packet = this.outgoing(packet);
    }
    const bytes = this.encoder.encode(packet, version);
    // What unsendable looks for, in line (see publishNow).
    if (bytes instanceof CodecError || (this.brokerMaxPacket !== 0 && bytes.length > this.brokerMaxPacket)) {
      return this.unsendable(bytes, packet.type);
    }
    // Only an alias the broker has seen with its topic may stand for it: a new alias of ours (outgoing sends a new one
    // with its topic, a known one without) does once this PUBLISH is written.
    const ours = this.aliases?.out;
    if (ours && packet.type === PUBLISH && packet.topic !== "" && packet.properties?.topicAlias)
      ours.set(packet.topic, packet.properties.topicAlias);
    if (this.trace) this.out.event({ type: "packet", direction: "out", packet, size: bytes.length });
    if (expectsAnswer(packet)) this.keepAlive.expectAnswer(now);
    else this.keepAlive.sent(now);
    this.out.write(bytes);
    return 0;
  }

  /**
   * Says why a packet of `type`, encoded as `bytes`, cannot be sent: the encoder's error, or a size over the broker's
   * maximum (what send and publishNow check before they call this); the reason code.
   */
  private unsendable(bytes: Uint8Array | CodecError, type: number): number {
    if (bytes instanceof CodecError) {
      this.out.event({ type: "warning", message: `cannot send packet type ${type}: ${bytes.message}` });
      return bytes.code === "packet_too_large" ? PACKET_TOO_LARGE : MALFORMED_PACKET;
    }
    this.out.event({
      type: "warning",
      message: `packet of ${bytes.length} bytes exceeds the broker's maximum of ${this.brokerMaxPacket}`,
    });
    return PACKET_TOO_LARGE;
  }

  /** Ends the connection because of a fault on our side of the protocol; MQTT 5 says why first. */
  private fail(cause: CloseCause, now: number, reasonCode: number): void {
    if (this.options.version === 5 && reasonCode && this.state !== CLOSED) {
      this.send({ type: DISCONNECT, reasonCode }, now);
    }
    this.end(cause, now);
  }

  private end(cause: CloseCause, now: number): void {
    if (this.state === CLOSED) return;
    const up = this.state === UP;
    this.state = CLOSED;
    this.session.suspend();
    this.out.close();
    if (up && brokerClosed(cause)) {
      const suspect = this.session.quarantine();
      if (suspect) this.out.event({ type: "quarantined", message: suspect.message, closes: suspect.closes, cause });
    }
    this.out.event({
      type: "closed",
      cause,
      uptime: up ? now - this.since : -1,
      idle: now - this.keepAlive.lastReceived,
    });
    const confirms = this.confirms;
    this.confirms = undefined;
    for (const waiting of confirms ?? []) waiting.done(false);
  }
}

/** The broker ended the connection: it hung up, reset it or sent DISCONNECT. */
function brokerClosed(cause: CloseCause): boolean {
  if (cause.kind === "server_disconnect") return true;
  return cause.kind === "net" && (cause.error.code === "closed" || cause.error.code === "reset");
}

function quoted(text: string | undefined): string {
  return text === undefined ? "" : ` "${text}"`;
}

function unexpected(packet: Packet): CloseCause {
  return { kind: "protocol", code: "unexpected_packet", message: `unexpected packet type ${packet.type}` };
}

/** Packets the broker must answer: its silence after one of them is evidence of a dead link. */
function expectsAnswer(packet: Packet): boolean {
  const t = packet.type;
  return t === PUBLISH ? packet.qos > 0 : t === SUBSCRIBE || t === UNSUBSCRIBE || t === PUBREL;
}
