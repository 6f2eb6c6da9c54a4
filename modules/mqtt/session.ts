// Session state (spec 4.1): our packet identifiers, the QoS 1/2 flows in both directions (4.3), what is sent again
// after a reconnect (4.4, 4.6) and the Receive Maximum flow control of 5.0 (4.9). Pure: packets in, packets out.
import type { Ack, Packet, Properties, ProtocolVersion, Publish, QoS } from "tether/mqtt/packets";
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from "tether/mqtt/packets";

const MAX_ID = 65535;
const PROTOCOL_ERROR = 0x82;
const ID_NOT_FOUND = 0x92;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;

/** A message to publish, before it has a packet identifier. */
export interface OutMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

/** The end of one of our QoS 1/2 flows. `ok` is false when the broker refused it (reason code >= 0x80). */
export interface Completion {
  packetId: number;
  qos: QoS;
  reasonCode: number;
  ok: boolean;
  message: OutMessage;
}

/**
 * A broker that broke the protocol. `reasonCode` is the 5.0 code that names it: 0x82 Protocol Error, 0x92 Packet
 * Identifier not found, 0x93 Receive Maximum exceeded. The caller decides whether it is worth a DISCONNECT.
 */
export interface ProtocolError {
  reasonCode: number;
  text: string;
}

export interface AckResult {
  /** To send now, in order: a PUBREL, then any waiting PUBLISHes the completion released. */
  send: Packet[];
  completed?: Completion;
  error?: ProtocolError;
}

export interface PublishResult {
  /** Hand the message to the application. False for a QoS 2 duplicate and on error. */
  deliver: boolean;
  /** The PUBACK or PUBREC to answer with. */
  send?: Ack;
  error?: ProtocolError;
}

export interface ResumeResult {
  /** To send right after CONNACK, in order. */
  send: Packet[];
  /** Messages the broker forgot (no session present) that are sent again as new publishes. */
  requeued: number;
  /** Identifiers of SUBSCRIBE/UNSUBSCRIBE that were never answered; they are released: subscribe again. */
  unacknowledged: number[];
}

export interface SessionOptions {
  /** Decides whether "identifier not found" answers carry reason 0x92 (5.0) or 0 (3.1.1). Default 4. */
  protocolVersion?: ProtocolVersion;
  /** Our Receive Maximum (the CONNECT property): QoS 1/2 PUBLISHes the broker may have unanswered. Default 65535. */
  receiveMaximum?: number;
}

/** One of our QoS 1/2 messages between PUBLISH and its completion. `released`: PUBREC came, PUBREL was sent. */
interface Flight {
  message: OutMessage;
  released: boolean;
}

/**
 * Offline until the first `resume()`: messages published meanwhile wait and go out, in order, after CONNACK.
 * Messages of every QoS go through the same queue so that they leave in the order `publish()` was called.
 */
export class Session {
  /** Set per connection: the version of the connection's CONNECT. */
  protocolVersion: ProtocolVersion;
  readonly receiveMaximum: number;
  // Map order is send order, which is what 4.6 requires of resends.
  #flights = new Map<number, Flight>();
  /** Identifiers lent to SUBSCRIBE/UNSUBSCRIBE. */
  #controls = new Set<number>();
  /** Incoming QoS 2 identifiers that were PUBREC'd and await PUBREL. */
  #incoming = new Set<number>();
  #waiting: OutMessage[] = [];
  /** The broker's Receive Maximum on this connection; 0 while offline, so nothing leaves. */
  #limit = 0;
  #next = 1;

  constructor(options: SessionOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.receiveMaximum = options.receiveMaximum ?? MAX_ID;
  }

  /** Our QoS 1/2 messages sent and not completed. */
  get inflight(): number {
    return this.#flights.size;
  }

  /** Messages waiting for the connection or for a Receive Maximum slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Called on every successful CONNACK with its Session Present flag and Receive Maximum (65535 when absent, and in
   * 3.1.1). Messages in flight are resent even beyond a smaller new maximum: the broker already holds them.
   */
  resume(sessionPresent: boolean, brokerReceiveMaximum = MAX_ID): ResumeResult {
    this.#limit = Math.max(1, brokerReceiveMaximum);
    const send: Packet[] = [];
    const unacknowledged = Array.from(this.#controls);
    this.#controls.clear();
    const requeued = sessionPresent ? 0 : this.#flights.size;
    if (sessionPresent) {
      for (const [id, flight] of this.#flights) {
        send.push(flight.released ? ack(PUBREL, id, 0) : toPublish(flight.message, id, true));
      }
    } else {
      // Sent again even after PUBREC: once the broker has forgotten, a duplicate is better than a loss.
      const again: OutMessage[] = [];
      for (const flight of this.#flights.values()) again.push(flight.message);
      this.#waiting = again.concat(this.#waiting);
      this.#flights.clear();
      this.#incoming.clear();
    }
    this.#releaseAll(send);
    return { send, requeued, unacknowledged };
  }

  /** The connection is gone: publishes wait until the next `resume()`. */
  suspend(): void {
    this.#limit = 0;
  }

  /** Returns the PUBLISH to send now, or undefined when the message waits (offline, Receive Maximum, no free id). */
  publish(message: OutMessage): Publish | undefined {
    this.#waiting.push(message);
    // Anything already waiting is blocked, and this message must not overtake it.
    return this.#waiting.length === 1 ? this.#releaseOne() : undefined;
  }

  /** A PUBACK, PUBREC or PUBCOMP from the broker (a PUBREL is passed on to `onPubrel`). */
  onAck(packet: Ack): AckResult {
    const { type, packetId, reasonCode } = packet;
    if (type === PUBREL) return { send: [this.onPubrel(packet)] };
    const flight = this.#flights.get(packetId);
    if (flight === undefined) {
      // 5.0 answers an unknown PUBREC with PUBREL 0x92 so that the broker can drop its state (3.6.2.1).
      const send = type === PUBREC ? [ack(PUBREL, packetId, this.#notFound())] : [];
      return { send, error: { reasonCode: ID_NOT_FOUND, text: `${NAMES[type]} for unknown packet id ${packetId}` } };
    }
    const { qos } = flight.message;
    if (type === PUBACK ? qos !== 1 : qos !== 2 || (type === PUBCOMP && !flight.released)) {
      return {
        send: [],
        error: { reasonCode: PROTOCOL_ERROR, text: `unexpected ${NAMES[type]} for QoS ${qos} packet id ${packetId}` },
      };
    }
    if (type === PUBREC && (flight.released || reasonCode < 0x80)) {
      flight.released = true;
      return { send: [ack(PUBREL, packetId, 0)] };
    }
    this.#flights.delete(packetId);
    const send: Packet[] = [];
    this.#releaseAll(send);
    // A PUBCOMP never refuses: its only other code, 0x92, answers a PUBREL sent again after the broker had already
    // completed the flow (our first PUBCOMP was lost with the connection): after PUBREC the message is delivered.
    const ok = type === PUBCOMP || reasonCode < 0x80;
    return { send, completed: { packetId, qos, reasonCode, ok, message: flight.message } };
  }

  /** An incoming PUBLISH. A QoS 2 message is delivered once, however often the broker sends it before PUBREL. */
  onPublish(publish: Publish): PublishResult {
    const { qos, packetId } = publish;
    if (qos === 0) return { deliver: true };
    if (!packetId) return { deliver: false, error: { reasonCode: PROTOCOL_ERROR, text: "PUBLISH without packet id" } };
    if (qos === 2 && this.#incoming.has(packetId)) return { deliver: false, send: ack(PUBREC, packetId, 0) };
    // QoS 1 is answered at once, so only QoS 2 awaiting PUBREL is still in flight from the broker's point of view.
    if (this.#incoming.size >= this.receiveMaximum) {
      return {
        deliver: false,
        error: { reasonCode: RECEIVE_MAXIMUM_EXCEEDED, text: `more than ${this.receiveMaximum} QoS 2 in flight` },
      };
    }
    if (qos === 2) this.#incoming.add(packetId);
    return { deliver: true, send: ack(qos === 1 ? PUBACK : PUBREC, packetId, 0) };
  }

  /** An incoming PUBREL: the PUBCOMP to answer. Unknown ids are normal after a reconnect (our PUBCOMP was lost). */
  onPubrel(pubrel: Ack): Ack {
    return ack(PUBCOMP, pubrel.packetId, this.#incoming.delete(pubrel.packetId) ? 0 : this.#notFound());
  }

  /** A packet identifier for a SUBSCRIBE or UNSUBSCRIBE, or undefined when all 65535 are in use. */
  allocate(): number | undefined {
    const id = this.#allocate();
    if (id !== undefined) this.#controls.add(id);
    return id;
  }

  /** Returns the identifier of an answered SUBSCRIBE/UNSUBSCRIBE; false when it was not lent out. */
  release(packetId: number): boolean {
    return this.#controls.delete(packetId);
  }

  /** Forgets everything, waiting messages included (a clean start chosen by the application). */
  clear(): void {
    this.#flights.clear();
    this.#controls.clear();
    this.#incoming.clear();
    this.#waiting = [];
  }

  #notFound(): number {
    return this.protocolVersion === 5 ? ID_NOT_FOUND : 0;
  }

  #allocate(): number | undefined {
    if (this.#flights.size + this.#controls.size >= MAX_ID) return undefined;
    let id = this.#next;
    while (this.#flights.has(id) || this.#controls.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#next = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  /** Sends the first waiting message if the connection, Receive Maximum and identifiers allow it. */
  #releaseOne(): Publish | undefined {
    const message = this.#waiting[0];
    if (message === undefined || this.#limit === 0) return undefined;
    let packetId: number | undefined;
    if (message.qos > 0) {
      if (this.#flights.size >= this.#limit) return undefined;
      packetId = this.#allocate();
      if (packetId === undefined) return undefined;
      this.#flights.set(packetId, { message, released: false });
    }
    this.#waiting.shift();
    return toPublish(message, packetId, false);
  }

  #releaseAll(send: Packet[]): void {
    for (let publish = this.#releaseOne(); publish; publish = this.#releaseOne()) send.push(publish);
  }
}

const NAMES = Object.freeze(["", "", "", "", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP"]);

function ack(type: Ack["type"], packetId: number, reasonCode: number): Ack {
  return { type, packetId, reasonCode };
}

function toPublish(message: OutMessage, packetId: number | undefined, dup: boolean): Publish {
  const { topic, payload, qos, retain, properties } = message;
  return { type: PUBLISH, topic, payload, qos, retain, dup, packetId, properties };
}
