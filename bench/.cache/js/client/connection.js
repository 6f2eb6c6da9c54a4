import { CodecError, Decoder, Encoder } from "tether/mqtt/codec";
import { KeepAlive } from "tether/mqtt/keepalive";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE
} from "tether/mqtt/packets";
const HANDSHAKE = 0;
const UP = 1;
const CLOSED = 2;
const MALFORMED_PACKET = 129;
const PROTOCOL_ERROR = 130;
const PACKET_TOO_LARGE = 149;
class Connection {
  constructor(options, session, out) {
    this.options = options;
    this.session = session;
    this.out = out;
    this.encoder = new Encoder(512, options.maxPacketSize);
    this.decoder = new Decoder(options.version, options.maxPacketSize);
    this.keepAlive = new KeepAlive(options.keepAlive);
  }
  options;
  session;
  out;
  trace = false;
  state = HANDSHAKE;
  encoder;
  decoder;
  keepAlive;
  startedAt = 0;
  connectedAt = -1;
  lastReceived = 0;
  brokerMaxPacket = 0;
  brokerMaxQoS = 2;
  /** Filters of each SUBSCRIBE awaiting its SUBACK, so a refusal can name them. */
  pendingSubscribes = /* @__PURE__ */ new Map();
  get connected() {
    return this.state === UP;
  }
  /** The effective keep alive in seconds (the broker may override ours in MQTT 5). */
  get keepAliveSeconds() {
    return this.keepAlive.keepAlive;
  }
  /** The socket is open: send CONNECT. */
  start(now) {
    const o = this.options;
    const properties = {};
    if (o.version === 5) {
      if (o.sessionExpiry) properties.sessionExpiryInterval = o.sessionExpiry;
      properties.maximumPacketSize = o.maxPacketSize;
    }
    this.startedAt = now;
    this.lastReceived = now;
    this.send(
      {
        type: CONNECT,
        protocolVersion: o.version,
        clientId: o.clientId,
        cleanStart: o.cleanStart,
        keepAlive: o.keepAlive,
        username: o.username,
        password: o.password,
        will: o.will,
        properties: o.version === 5 ? properties : void 0
      },
      now
    );
  }
  /** Bytes from the socket, in any chunking. */
  receive(bytes, now) {
    if (this.state === CLOSED) return;
    this.decoder.push(bytes);
    for (; ; ) {
      const packet = this.decoder.next();
      if (packet === void 0 || this.state === CLOSED) return;
      if (packet instanceof CodecError) {
        const reason = packet.code === "packet_too_large" ? PACKET_TOO_LARGE : MALFORMED_PACKET;
        this.fail({ kind: "protocol", code: packet.code, message: packet.message }, now, reason);
        return;
      }
      this.lastReceived = now;
      this.keepAlive.received(now);
      if (this.trace) this.out.event({ type: "packet", direction: "in", packet, size: 0 });
      this.handle(packet, now);
    }
  }
  /** The socket failed or the peer closed it. */
  socketFailed(error, now) {
    this.end({ kind: "net", error }, now);
  }
  /** When the driver should call tick() next (an absolute time), or Infinity for never. */
  deadline() {
    if (this.state === HANDSHAKE) return this.startedAt + this.options.connackTimeout;
    if (this.state === UP) return this.keepAlive.nextDeadline();
    return Number.POSITIVE_INFINITY;
  }
  tick(now) {
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
        0
      );
    }
  }
  /**
   * Publishes through the session, which keeps QoS 1 and 2 until completed, even across reconnects, and keeps
   * every QoS in publish order behind the broker's Receive Maximum. False when not connected.
   */
  publish(message, now) {
    if (this.state !== UP) return false;
    if (message.qos > this.brokerMaxQoS) message = { ...message, qos: this.brokerMaxQoS };
    const packet = this.session.publish(message);
    if (packet) this.send(packet, now);
    return true;
  }
  /** Sends SUBSCRIBE; returns its packet id, or 0 when not connected or out of identifiers. */
  subscribe(subscriptions, now, properties) {
    const packetId = this.state === UP ? this.session.allocate() ?? 0 : 0;
    if (packetId) {
      this.pendingSubscribes.set(
        packetId,
        subscriptions.map((s) => s.topicFilter)
      );
      this.send({ type: SUBSCRIBE, packetId, subscriptions, properties }, now);
    }
    return packetId;
  }
  unsubscribe(topicFilters, now) {
    const packetId = this.state === UP ? this.session.allocate() ?? 0 : 0;
    if (packetId) this.send({ type: UNSUBSCRIBE, packetId, topicFilters }, now);
    return packetId;
  }
  /** Sends a PINGREQ now (the self-test's round trip); the answer arrives as a `pong` event. */
  ping(now) {
    if (this.state !== UP) return;
    this.send({ type: PINGREQ }, now);
    this.keepAlive.pingSent(now);
  }
  /** A clean goodbye: DISCONNECT, then close. The will is not published. */
  disconnect(now, reason) {
    if (this.state === CLOSED) return;
    if (this.state === UP) this.send({ type: DISCONNECT, reasonCode: 0 }, now);
    this.end({ kind: "local", reason }, now);
  }
  handle(packet, now) {
    if (this.state === HANDSHAKE) {
      if (packet.type === CONNACK) this.connack(packet, now);
      else this.fail(unexpected(packet), now, PROTOCOL_ERROR);
      return;
    }
    switch (packet.type) {
      case PUBLISH: {
        if (packet.properties?.topicAlias !== void 0) {
          this.fail({ kind: "protocol", code: "topic_alias", message: "broker used a topic alias" }, now, 148);
          return;
        }
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
        if (result.error) this.out.event({ type: "warning", message: result.error.text });
        for (const p of result.send) this.send(p, now);
        if (result.completed) this.out.event({ type: "completed", completion: result.completed });
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
            message: `${packet.type === SUBACK ? "SUBACK" : "UNSUBACK"} for unknown id`
          });
          return;
        }
        if (packet.type === SUBACK) {
          const { packetId, reasonCodes } = packet;
          const topicFilters = this.pendingSubscribes.get(packetId) ?? [];
          this.pendingSubscribes.delete(packetId);
          const reasonString = packet.properties?.reasonString;
          this.out.event({ type: "subscribed", packetId, topicFilters, reasonCodes, reasonString });
        } else this.out.event({ type: "unsubscribed", packetId: packet.packetId, reasonCodes: packet.reasonCodes });
        return;
      case PINGRESP: {
        const rtt = this.keepAlive.pingResponse(now);
        if (rtt !== void 0) this.out.event({ type: "pong", rtt });
        return;
      }
      case DISCONNECT: {
        const p = packet.properties;
        this.end(
          {
            kind: "server_disconnect",
            reasonCode: packet.reasonCode,
            reasonString: p?.reasonString,
            serverReference: p?.serverReference
          },
          now
        );
        return;
      }
      default:
        this.fail(unexpected(packet), now, PROTOCOL_ERROR);
    }
  }
  connack(packet, now) {
    const p = packet.properties;
    if (packet.reasonCode !== 0) {
      const { reasonString, serverReference } = p ?? {};
      this.end({ kind: "connack", reasonCode: packet.reasonCode, reasonString, serverReference }, now);
      return;
    }
    this.state = UP;
    this.connectedAt = now;
    this.brokerMaxPacket = p?.maximumPacketSize ?? 0;
    this.brokerMaxQoS = p?.maximumQoS ?? 2;
    this.keepAlive.start(now, p?.serverKeepAlive);
    this.session.protocolVersion = this.options.version;
    const resumed = this.session.resume(packet.sessionPresent, p?.receiveMaximum ?? 65535);
    for (const resend of resumed.send) this.send(resend, now);
    this.out.event({
      type: "connected",
      sessionPresent: packet.sessionPresent,
      properties: p,
      rtt: now - this.startedAt,
      keepAlive: this.keepAlive.keepAlive,
      requeued: resumed.requeued
    });
  }
  /** Encodes and writes one packet; false when it cannot be encoded or exceeds the broker's maximum. */
  send(packet, now) {
    const bytes = this.encoder.encode(packet, this.options.version);
    if (bytes instanceof CodecError) {
      this.out.event({ type: "warning", message: `cannot send packet type ${packet.type}: ${bytes.message}` });
      return false;
    }
    if (this.brokerMaxPacket && bytes.length > this.brokerMaxPacket) {
      this.out.event({
        type: "warning",
        message: `packet of ${bytes.length} bytes exceeds the broker's maximum of ${this.brokerMaxPacket}`
      });
      return false;
    }
    if (this.trace) this.out.event({ type: "packet", direction: "out", packet, size: bytes.length });
    this.keepAlive.sent(now);
    this.out.write(bytes);
    return true;
  }
  /** Ends the connection because of a fault on our side of the protocol; MQTT 5 says why first. */
  fail(cause, now, reasonCode) {
    if (this.options.version === 5 && reasonCode && this.state !== CLOSED) {
      this.send({ type: DISCONNECT, reasonCode }, now);
    }
    this.end(cause, now);
  }
  end(cause, now) {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.session.suspend();
    this.out.close();
    this.out.event({
      type: "closed",
      cause,
      uptime: this.connectedAt < 0 ? -1 : now - this.connectedAt,
      idle: now - this.lastReceived
    });
  }
}
function unexpected(packet) {
  return { kind: "protocol", code: "unexpected_packet", message: `unexpected packet type ${packet.type}` };
}
export {
  Connection
};
