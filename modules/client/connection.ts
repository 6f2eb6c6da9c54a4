// One connection's life, from CONNECT to close, as a sans-IO state machine. The driver hands it bytes, socket
// failures and the time; it answers through its Output (bytes to write, close the socket, events). The Session
// outlives connections, so in-flight messages survive a reconnect.
import type { TransportError } from "tether/client/websocket";
import { CodecError, Decoder, Encoder, type SkippedPublish } from "tether/mqtt/codec";
import { KeepAlive } from "tether/mqtt/keepalive";
import {
  CONNACK,
  CONNECT,
  type Connack,
  DISCONNECT,
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
}

/** mosquitto's default max_inflight_messages, which it also announces as its Receive Maximum in MQTT 5. */
export const DEFAULT_MAX_INFLIGHT = 20;

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

export class Connection {
  trace = false;
  private state = HANDSHAKE;
  private readonly encoder: Encoder;
  private readonly decoder: Decoder;
  private readonly keepAlive: KeepAlive;
  private startedAt = 0;
  private connectedAt = -1;
  private lastReceived = 0;
  private brokerMaxPacket = 0;
  /** The broker's Topic Alias Maximum: our aliases must stay within it (spec 3.2.2.3.8). */
  private brokerAliasMax = 0;
  /** Our aliases on this connection, by topic (with `topicAliases`); aliases live as long as the connection. */
  private aliasesOut: Map<string, number> | undefined;
  /** A topic whose new alias takes effect once the PUBLISH that sets it is written. */
  private aliasPending = "";
  /** The broker's aliases on this connection: topics by alias. */
  private aliasesIn: Map<number, string> | undefined;
  /** The broker's Retain Available (5.0; true when absent): a retained PUBLISH it refuses ends the connection. */
  private retainAvailable = true;
  /** The broker's Subscription Identifier Available (5.0; true when absent). */
  private subscriptionIdsAvailable = true;
  /** Why the last send() refused a PUBLISH, as a 5.0 reason code: its completion carries it. */
  private refusal = PACKET_TOO_LARGE;
  /** Filters of each SUBSCRIBE awaiting its SUBACK, so a refusal can name them. */
  private readonly pendingSubscribes = new Map<number, string[]>();

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
    }
    this.startedAt = now;
    this.lastReceived = now;
    // A CONNECT that cannot be encoded (larger than maxPacketSize, a string brokers refuse) would time out at every
    // attempt, for ever: the connection ends as one of ours, which the supervisor does not retry; the warning says why.
    const sent = this.send(
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
    if (!sent) this.end({ kind: "local", reason: "the CONNECT cannot be sent: fix the configuration" }, now);
  }

  /** Bytes from the socket, in any chunking. */
  receive(bytes: Uint8Array, now: number): void {
    if (this.state === CLOSED) return;
    // Any byte proves the link alive, not only a whole packet: a large one crawling through a slow link must not be
    // taken for silence while the PINGRESP waits behind it.
    this.lastReceived = now;
    this.keepAlive.received(now);
    this.decoder.push(bytes);
    for (;;) {
      const packet = this.decoder.next();
      if (packet === undefined || this.state === CLOSED) return;
      if (packet instanceof CodecError && packet.skipped) {
        this.skipped(packet.skipped, now);
        continue;
      }
      if (packet instanceof CodecError) {
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
    if (this.state === HANDSHAKE) return this.startedAt + this.options.connackTimeout;
    if (this.state === UP) return this.keepAlive.nextDeadline();
    return Number.POSITIVE_INFINITY;
  }

  tick(now: number): void {
    if (this.state === HANDSHAKE && now >= this.startedAt + this.options.connackTimeout) {
      this.fail({ kind: "connack_timeout", waited: now - this.startedAt }, now, 0);
      return;
    }
    if (this.state !== UP) return;
    const due = this.keepAlive.check(now);
    if (due === "ping") this.ping(now);
    else if (due === "timeout") {
      this.fail(
        { kind: "keepalive_timeout", waited: this.keepAlive.pingTimeout, idle: now - this.lastReceived },
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
    if (!this.send(packet, now) && packet.packetId) this.sendReleased(this.abandon(packet.packetId), now);
    return "sent";
  }

  /** Sends SUBSCRIBE; returns its packet id, or 0 when not connected or out of identifiers. */
  subscribe(subscriptions: Subscription[], now: number, properties?: Properties): number {
    if (properties?.subscriptionIdentifier !== undefined && !this.subscriptionIdsAvailable) {
      // The broker would end the connection with 0xA1, and a subscription kept for reconnects would end every one.
      const message =
        "SUBSCRIBE with a subscription identifier not sent: the broker has Subscription Identifier Available 0";
      this.out.event({ type: "warning", message });
      return 0;
    }
    const packetId = this.state === UP ? (this.session.allocate() ?? 0) : 0;
    if (packetId) {
      this.pendingSubscribes.set(
        packetId,
        subscriptions.map((s) => s.topicFilter),
      );
      this.send({ type: SUBSCRIBE, packetId, subscriptions, properties }, now);
    }
    return packetId;
  }

  unsubscribe(topicFilters: string[], now: number): number {
    const packetId = this.state === UP ? (this.session.allocate() ?? 0) : 0;
    if (packetId) this.send({ type: UNSUBSCRIBE, packetId, topicFilters }, now);
    return packetId;
  }

  /** Sends a PINGREQ now (the self-test's round trip); the answer arrives as a `pong` event. */
  ping(now: number): void {
    if (this.state !== UP) return;
    this.send({ type: PINGREQ }, now);
    this.keepAlive.pingSent(now);
  }

  /** A clean goodbye: DISCONNECT, then close. The will is not published. */
  disconnect(now: number, reason: string): void {
    if (this.state === CLOSED) return;
    if (this.state === UP) this.send({ type: DISCONNECT, reasonCode: 0 }, now);
    this.end({ kind: "local", reason }, now);
  }

  private handle(packet: Packet, now: number): void {
    if (this.state === HANDSHAKE) {
      if (packet.type === CONNACK) this.connack(packet, now);
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
        if (result.deliver) this.out.event({ type: "message", publish: packet });
        if (result.send) this.send(result.send, now);
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
          const topicFilters = this.pendingSubscribes.get(packetId) ?? [];
          this.pendingSubscribes.delete(packetId);
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
        if (rtt !== undefined) this.out.event({ type: "pong", rtt });
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
      default:
        // AUTH too: we never start enhanced authentication, so the broker may not continue one.
        this.fail(unexpected(packet), now, PROTOCOL_ERROR);
    }
  }

  /**
   * A PUBLISH over our maximum, skipped by the decoder (3.1.1): acknowledged as if delivered, so that the broker
   * does not send it again at every reconnect, and reported.
   */
  private skipped(skipped: SkippedPublish, now: number): void {
    this.lastReceived = now;
    this.keepAlive.received(now);
    const { topic, qos, packetId, size } = skipped;
    if (qos > 0 && packetId) {
      const publish: Publish = { type: PUBLISH, topic, payload: new Uint8Array(0), qos, retain: false, dup: false };
      publish.packetId = packetId;
      const result = this.session.onPublish(publish);
      if (result.send) this.send(result.send, now);
    }
    this.out.event({ type: "skipped", topic, qos, size, max: this.options.maxPacketSize });
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
    this.state = UP;
    this.connectedAt = now;
    this.brokerMaxPacket = p?.maximumPacketSize ?? 0;
    this.retainAvailable = p?.retainAvailable !== 0;
    this.subscriptionIdsAvailable = p?.subscriptionIdentifiersAvailable !== 0;
    if (this.options.version === 5) {
      this.brokerAliasMax = p?.topicAliasMaximum ?? 0;
      if (this.options.topicAliases && this.brokerAliasMax) this.aliasesOut = new Map();
      if (this.options.topicAliasMaximum) this.aliasesIn = new Map();
    }
    this.keepAlive.start(now, p?.serverKeepAlive);
    this.session.protocolVersion = this.options.version;
    const resumed = this.session.resume(
      packet.sessionPresent,
      Math.min(p?.receiveMaximum ?? 65535, this.options.maxInflight ?? DEFAULT_MAX_INFLIGHT),
      (p?.maximumQoS ?? 2) as QoS,
    );
    // Resends leave before the event: its handler publishes (a status), and those must not overtake messages
    // already in flight, or a subscriber would see them out of order (spec 4.6).
    let resent = 0;
    for (const resend of resumed.send) if (resend.type === PUBLISH && resend.dup) resent++;
    this.sendReleased(resumed.send, now);
    this.out.event({
      type: "connected",
      sessionPresent: packet.sessionPresent,
      properties: p,
      rtt: now - this.startedAt,
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
    const aliases = this.aliasesIn;
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
    const aliases = this.aliasesOut;
    if (given !== undefined && (aliases || given > this.brokerAliasMax)) {
      if (!aliases) {
        this.out.event({
          type: "warning",
          message: `topic alias ${given} above the broker's Topic Alias Maximum ${this.brokerAliasMax}: sent without it`,
        });
      }
      const { topicAlias: _, ...rest } = properties!;
      packet = { ...packet, properties: rest };
    }
    if (!aliases) return packet;
    const known = aliases.get(packet.topic);
    if (known !== undefined) return { ...packet, topic: "", properties: { ...packet.properties, topicAlias: known } };
    // When all are taken the first topics keep theirs: a device publishes to a few topics, the same ones again.
    if (aliases.size >= this.brokerAliasMax) return packet;
    this.aliasPending = packet.topic;
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
      if (this.send(packet, now) || packet.type !== PUBLISH || !packet.packetId) continue;
      for (const p of this.abandon(packet.packetId)) packets.push(p);
    }
  }

  /** Gives up one of our flights that cannot be sent; returns what that releases. */
  private abandon(packetId: number): Packet[] {
    const result = this.session.abandon(packetId, this.refusal);
    if (result.completed) this.out.event({ type: "completed", completion: result.completed, ack: PUBLISH });
    return result.send;
  }

  /**
   * Encodes and writes one packet; false when it cannot be encoded, exceeds the broker's maximum, or is a retained
   * PUBLISH to a broker without retain (a message queued or stored before this broker said so: sent, it would end
   * this connection and, sent again, every next one).
   */
  private send(packet: Packet, now: number): boolean {
    if (packet.type === PUBLISH && packet.retain && !this.retainAvailable) {
      this.refusal = RETAIN_NOT_SUPPORTED;
      this.out.event({
        type: "warning",
        message: `retained publish to ${packet.topic} not sent: the broker has Retain Available 0`,
      });
      return false;
    }
    this.refusal = PACKET_TOO_LARGE;
    if (packet.type === PUBLISH && this.options.version === 5) packet = this.outgoing(packet);
    const pending = this.aliasPending;
    this.aliasPending = "";
    const bytes = this.encoder.encode(packet, this.options.version);
    if (bytes instanceof CodecError) {
      this.out.event({ type: "warning", message: `cannot send packet type ${packet.type}: ${bytes.message}` });
      return false;
    }
    if (this.brokerMaxPacket && bytes.length > this.brokerMaxPacket) {
      this.out.event({
        type: "warning",
        message: `packet of ${bytes.length} bytes exceeds the broker's maximum of ${this.brokerMaxPacket}`,
      });
      return false;
    }
    // Only an alias the broker has seen with its topic may stand for it.
    if (pending) this.aliasesOut!.set(pending, this.aliasesOut!.size + 1);
    if (this.trace) this.out.event({ type: "packet", direction: "out", packet, size: bytes.length });
    if (expectsAnswer(packet)) this.keepAlive.expectAnswer(now);
    else this.keepAlive.sent(now);
    this.out.write(bytes);
    return true;
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
    this.state = CLOSED;
    this.session.suspend();
    this.out.close();
    this.out.event({
      type: "closed",
      cause,
      uptime: this.connectedAt < 0 ? -1 : now - this.connectedAt,
      idle: now - this.lastReceived,
    });
  }
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
  return t === SUBSCRIBE || t === UNSUBSCRIBE || t === PUBREL || (t === PUBLISH && packet.qos > 0);
}
