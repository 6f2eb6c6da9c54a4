import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from "tether/mqtt/packets";
const MAX_ID = 65535;
const PROTOCOL_ERROR = 130;
const ID_NOT_FOUND = 146;
const RECEIVE_MAXIMUM_EXCEEDED = 147;
class Session {
  /** Set per connection: the version of the connection's CONNECT. */
  protocolVersion;
  receiveMaximum;
  // Map order is send order, which is what 4.6 requires of resends.
  #flights = /* @__PURE__ */ new Map();
  /** Identifiers lent to SUBSCRIBE/UNSUBSCRIBE. */
  #controls = /* @__PURE__ */ new Set();
  /** Incoming QoS 2 identifiers that were PUBREC'd and await PUBREL. */
  #incoming = /* @__PURE__ */ new Set();
  #waiting = [];
  /** The broker's Receive Maximum on this connection; 0 while offline, so nothing leaves. */
  #limit = 0;
  #next = 1;
  constructor(options = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.receiveMaximum = options.receiveMaximum ?? MAX_ID;
  }
  /** Our QoS 1/2 messages sent and not completed. */
  get inflight() {
    return this.#flights.size;
  }
  /** Messages waiting for the connection or for a Receive Maximum slot. */
  get waiting() {
    return this.#waiting.length;
  }
  /**
   * Called on every successful CONNACK with its Session Present flag and Receive Maximum (65535 when absent, and in
   * 3.1.1). Messages in flight are resent even beyond a smaller new maximum: the broker already holds them.
   */
  resume(sessionPresent, brokerReceiveMaximum = MAX_ID) {
    this.#limit = Math.max(1, brokerReceiveMaximum);
    const send = [];
    const unacknowledged = Array.from(this.#controls);
    this.#controls.clear();
    const requeued = sessionPresent ? 0 : this.#flights.size;
    if (sessionPresent) {
      for (const [id, flight] of this.#flights) {
        send.push(flight.released ? ack(PUBREL, id, 0) : toPublish(flight.message, id, true));
      }
    } else {
      const again = [];
      for (const flight of this.#flights.values()) again.push(flight.message);
      this.#waiting = again.concat(this.#waiting);
      this.#flights.clear();
      this.#incoming.clear();
    }
    this.#releaseAll(send);
    return { send, requeued, unacknowledged };
  }
  /** The connection is gone: publishes wait until the next `resume()`. */
  suspend() {
    this.#limit = 0;
  }
  /** Returns the PUBLISH to send now, or undefined when the message waits (offline, Receive Maximum, no free id). */
  publish(message) {
    this.#waiting.push(message);
    return this.#waiting.length === 1 ? this.#releaseOne() : void 0;
  }
  /** A PUBACK, PUBREC or PUBCOMP from the broker (a PUBREL is passed on to `onPubrel`). */
  onAck(packet) {
    const { type, packetId, reasonCode } = packet;
    if (type === PUBREL) return { send: [this.onPubrel(packet)] };
    const flight = this.#flights.get(packetId);
    if (flight === void 0) {
      const send2 = type === PUBREC ? [ack(PUBREL, packetId, this.#notFound())] : [];
      return { send: send2, error: { reasonCode: ID_NOT_FOUND, text: `${NAMES[type]} for unknown packet id ${packetId}` } };
    }
    const { qos } = flight.message;
    if (type === PUBACK ? qos !== 1 : qos !== 2 || type === PUBCOMP && !flight.released) {
      return {
        send: [],
        error: { reasonCode: PROTOCOL_ERROR, text: `unexpected ${NAMES[type]} for QoS ${qos} packet id ${packetId}` }
      };
    }
    if (type === PUBREC && (flight.released || reasonCode < 128)) {
      flight.released = true;
      return { send: [ack(PUBREL, packetId, 0)] };
    }
    this.#flights.delete(packetId);
    const send = [];
    this.#releaseAll(send);
    return { send, completed: { packetId, qos, reasonCode, ok: reasonCode < 128, message: flight.message } };
  }
  /** An incoming PUBLISH. A QoS 2 message is delivered once, however often the broker sends it before PUBREL. */
  onPublish(publish) {
    const { qos, packetId } = publish;
    if (qos === 0) return { deliver: true };
    if (!packetId) return { deliver: false, error: { reasonCode: PROTOCOL_ERROR, text: "PUBLISH without packet id" } };
    if (qos === 2 && this.#incoming.has(packetId)) return { deliver: false, send: ack(PUBREC, packetId, 0) };
    if (this.#incoming.size >= this.receiveMaximum) {
      return {
        deliver: false,
        error: { reasonCode: RECEIVE_MAXIMUM_EXCEEDED, text: `more than ${this.receiveMaximum} QoS 2 in flight` }
      };
    }
    if (qos === 2) this.#incoming.add(packetId);
    return { deliver: true, send: ack(qos === 1 ? PUBACK : PUBREC, packetId, 0) };
  }
  /** An incoming PUBREL: the PUBCOMP to answer. Unknown ids are normal after a reconnect (our PUBCOMP was lost). */
  onPubrel(pubrel) {
    return ack(PUBCOMP, pubrel.packetId, this.#incoming.delete(pubrel.packetId) ? 0 : this.#notFound());
  }
  /** A packet identifier for a SUBSCRIBE or UNSUBSCRIBE, or undefined when all 65535 are in use. */
  allocate() {
    const id = this.#allocate();
    if (id !== void 0) this.#controls.add(id);
    return id;
  }
  /** Returns the identifier of an answered SUBSCRIBE/UNSUBSCRIBE; false when it was not lent out. */
  release(packetId) {
    return this.#controls.delete(packetId);
  }
  /** Forgets everything, waiting messages included (a clean start chosen by the application). */
  clear() {
    this.#flights.clear();
    this.#controls.clear();
    this.#incoming.clear();
    this.#waiting = [];
  }
  #notFound() {
    return this.protocolVersion === 5 ? ID_NOT_FOUND : 0;
  }
  #allocate() {
    if (this.#flights.size + this.#controls.size >= MAX_ID) return void 0;
    let id = this.#next;
    while (this.#flights.has(id) || this.#controls.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#next = id === MAX_ID ? 1 : id + 1;
    return id;
  }
  /** Sends the first waiting message if the connection, Receive Maximum and identifiers allow it. */
  #releaseOne() {
    const message = this.#waiting[0];
    if (message === void 0 || this.#limit === 0) return void 0;
    let packetId;
    if (message.qos > 0) {
      if (this.#flights.size >= this.#limit) return void 0;
      packetId = this.#allocate();
      if (packetId === void 0) return void 0;
      this.#flights.set(packetId, { message, released: false });
    }
    this.#waiting.shift();
    return toPublish(message, packetId, false);
  }
  #releaseAll(send) {
    for (let publish = this.#releaseOne(); publish; publish = this.#releaseOne()) send.push(publish);
  }
}
const NAMES = ["", "", "", "", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP"];
function ack(type, packetId, reasonCode) {
  return { type, packetId, reasonCode };
}
function toPublish(message, packetId, dup) {
  const { topic, payload, qos, retain, properties } = message;
  return { type: PUBLISH, topic, payload, qos, retain, dup, packetId, properties };
}
export {
  Session
};
