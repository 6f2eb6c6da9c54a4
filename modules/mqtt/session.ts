// Session state (spec 4.1): our packet identifiers, the QoS 1/2 flows in both directions (4.3), what is sent again
// after a reconnect (4.4, 4.6) and the Receive Maximum flow control of 5.0 (4.9). Pure: packets in, packets out,
// and, when given a store, the state the broker holds us to written through it so that it outlives a reboot.
//
// The QoS 1/2 messages waiting behind the in-flight window or for a connection are stored too, while the broker
// keeps our session: they were accepted (`pub queued`), and offline is exactly when a device is likely to be power
// cycled; a user who chose QoS 1 and a lasting session expects them sent after the reboot, before newer ones. Each
// costs one write when it starts waiting, and its flight then overwrites the same value (so a message that waited
// costs one write more than one that left at once). What cannot be stored (too large, no slot, refused by the
// store, no session kept) is counted: a polite shutdown names it (losing()), a power cut leaves a marker that the
// next boot names (droppedAtBoot).
import type { Ack, Packet, Properties, ProtocolVersion, Publish, QoS } from "tether/mqtt/packets";
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from "tether/mqtt/packets";
import { MessageQueue, type QueueLimits, type QueueResult } from "tether/mqtt/queue";
import { topicNameProblem } from "tether/mqtt/topic";

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
  /**
   * Never written to the store, whatever the session: a message not worth a flash write (the answer to a remote
   * command, which a flood of commands would turn into two writes each; a status that the next one replaces). It
   * is resent from RAM after a reconnect, and forgotten by a reboot.
   */
  transient?: boolean;
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
  readonly deliver: boolean;
  /** The PUBACK or PUBREC to answer with. */
  readonly send?: Ack;
  readonly error?: ProtocolError;
}

/** A QoS 0 message's answer, the same every time: no object per message received. */
const DELIVER: PublishResult = Object.freeze({ deliver: true });

export interface ResumeResult {
  /** To send right after CONNACK, in order. */
  send: Packet[];
  /** Messages the broker forgot (no session present) that are sent again as new publishes. */
  requeued: number;
  /** Identifiers of SUBSCRIBE/UNSUBSCRIBE that were never answered; they are released: subscribe again. */
  unacknowledged: number[];
  /**
   * One of our messages is one the broker closed a connection after (see quarantine): `send` is empty, and nothing
   * leaves until `probed()`, which the caller calls when the broker answers a PINGREQ sent now; then one message a
   * PINGRESP, each followed by a PINGREQ, so that a close names the message it followed.
   */
  suspect: boolean;
}

/** Persistent strings, as Host.readSetting/writeSetting (Preference, NVS on an ESP32). */
export interface SessionStore {
  readSetting(key: string): string | undefined;
  writeSetting(key: string, value: string | undefined): void;
  /** A stored value that does not parse (`why`): named and removed. Without it, the value is removed. */
  rejected?(key: string, why: string): void;
}

export interface SessionOptions {
  /** Decides whether "identifier not found" answers carry reason 0x92 (5.0) or 0 (3.1.1). Default 4. */
  protocolVersion?: ProtocolVersion;
  /**
   * Our Receive Maximum (the CONNECT property, MQTT 5 only): QoS 1/2 PUBLISHes the broker may have unanswered.
   * Default 65535.
   */
  receiveMaximum?: number;
  /** Bounds of the messages waiting behind the in-flight window or for a connection. Default: unbounded. */
  queue?: QueueLimits;
  /**
   * Where the session state survives a reboot: our QoS 1/2 messages in flight (identifier, flags, topic, payload),
   * one value each, and the incoming QoS 2 identifiers awaiting PUBREL, one value. What was stored is read back at
   * construction. Written on every change of that state, never otherwise.
   */
  store?: SessionStore;
  /**
   * Whether to keep writing the state (the broker keeps our session). False: what a previous run stored is read
   * back (its messages are sent again as new ones) and removed, and nothing more is written. Default true.
   */
  persist?: boolean;
  /**
   * Stored flights at most (values read at boot; 32 at most); flights beyond are not stored and make the session
   * `lost`.
   */
  slots?: number;
  /**
   * Stored waiting QoS 1/2 messages at most, on top of `slots` (values read at boot; 32 at most): waiting messages
   * beyond are held in RAM only and named when a reboot loses them (see losing). Default 16.
   */
  queueSlots?: number;
}

/** Why a waiting QoS 1/2 message is held in RAM only: the `reason` of `diag message_dropped`. */
export type UnsavedReason = "no_session" | "no_slot" | "too_large" | "properties" | "store_refused";
const REASONS: readonly string[] = Object.freeze(["no_session", "no_slot", "too_large", "properties", "store_refused"]);

/** One of our QoS 1/2 messages between PUBLISH and its completion. */
interface Flight {
  message: OutMessage;
  /** 0, or PUBREC came and PUBREL was sent (RELEASED), or sent again after a reconnect (RELEASED_AGAIN). */
  released: number;
  /** Its stored value's slot, or IN_RAM (counted as unstored), or NEW (not saved yet, or no store). */
  slot: number;
  /** The connection it was last sent on (Session.#connection), and its place in the order of our sends. */
  sentOn: number;
  seq: number;
}

const RELEASED = 1;
const RELEASED_AGAIN = 2;

/**
 * How many connections in a row the broker may close right after a message was (re)sent, nothing acknowledged
 * since, before the message is taken out of the session: the first close may be chance (a restart), the second,
 * after the resend, is the message (a broker that drops the client for it would do so at every reconnect).
 */
export const QUARANTINE_CLOSES = 2;

const IN_RAM = -1;
const NEW = -2;

/** Storage keys (NVS names have 15 characters at most). */
const KEY_FLIGHT = "ses.";
const KEY_INCOMING = "ses.in";
const KEY_LOST = "ses.lost";
/** Written while waiting QoS 1/2 messages are held in RAM only (its value: why), so a power cut is named at boot. */
const KEY_DROPPED = "ses.drop";
/** The slot of a stored message the broker closed a connection after (see quarantine), so that a reboot keeps it. */
const KEY_SUSPECT = "ses.sus";
/** A stored waiting message's value starts with this and its order number where a flight's has its identifier. */
const QUEUED = "q";
/** The longest value NVS holds for sure (hosts/moddable/nvs.ts: 3999 bytes of UTF-8 in any case). */
const VALUE_MAX = 1333;
const DEFAULT_SLOTS = 20;
const DEFAULT_QUEUE_SLOTS = 16;
/** Flight slots at most, and waiting-message slots at most: their use is kept as the bits of two numbers. */
export const MAX_SLOTS = 32;

/** The bounds of a waiting queue given none. */
const UNBOUNDED: QueueLimits = Object.freeze({ count: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY });

/**
 * Offline until the first `resume()`: messages published meanwhile wait and go out, in order, after CONNACK.
 * Messages of every QoS go through the same queue so that they leave in the order `publish()` was called.
 *
 * State is made when first needed (XS charges every declared field in every instance, even one left undefined): the
 * fields here are what any session uses, and the rest lives in objects a session makes only when it needs them, so
 * that a clean session publishing QoS 0 (the drop-in's) holds none of them:
 * - #outgoing (Outgoing): our QoS 1/2 messages, made with the first of them: the flights, the quarantine's
 *   bookkeeping (probing included), the count of waiting ones held in RAM only.
 * - #disk (Disk): the store and what keeps it right (slots in use, markers written, what a previous run left), made
 *   at construction with a store; dropped there when this run writes nothing (no session kept) and the previous run
 *   left nothing stored nor any marker to answer for.
 * - #waiting (MessageQueue): made with the first message that waits.
 * - #controls, #incoming, #pings: made with their first entry, dropped when the last goes.
 */
export class Session {
  /** Set per connection: the version of the connection's CONNECT. */
  protocolVersion: ProtocolVersion;
  readonly receiveMaximum: number;
  /** Our QoS 1/2 messages (see Outgoing). */
  #outgoing: Outgoing | undefined;
  /** Identifiers lent to SUBSCRIBE/UNSUBSCRIBE: made with the first, dropped when all are back. */
  #controls: Set<number> | undefined;
  /** Incoming QoS 2 identifiers that were PUBREC'd and await PUBREL. */
  #incoming: Set<number> | undefined;
  #waiting: MessageQueue<OutMessage> | undefined;
  /** The bounds #waiting is made with. */
  readonly #limits: QueueLimits;
  /** The broker's Receive Maximum on this connection; 0 while offline, so nothing leaves. */
  #limit = 0;
  /** The broker's Maximum QoS on this connection: waiting messages above it leave downgraded (5.0, 3.2.2.3.4). */
  #maxQoS: QoS = 2;
  #next = 1;
  /** Connections resumed so far. */
  #connection = 0;
  /** For each PINGREQ unanswered on this connection, oldest first: the Outgoing.seq of our last send before it. */
  #pings: number[] | undefined;
  /** The store's side of the session (see Disk). */
  #disk: Disk | undefined;

  constructor(options: SessionOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.receiveMaximum = options.receiveMaximum ?? MAX_ID;
    this.#limits = options.queue ?? UNBOUNDED;
    const store = options.store;
    if (store === undefined) return;
    // One pool of slots: a waiting message's flight takes over its value, so flights never lack one while they
    // are within `slots` and the waiting ones within `queueSlots`.
    const queueSlots = Math.min(options.queueSlots ?? DEFAULT_QUEUE_SLOTS, MAX_SLOTS);
    const slots = Math.min(options.slots ?? DEFAULT_SLOTS, MAX_SLOTS) + queueSlots;
    const disk = new Disk(store, slots, queueSlots);
    this.#disk = disk;
    disk.lost = store.readSetting(KEY_LOST) !== undefined;
    disk.lostWritten = disk.lost;
    const dropped = store.readSetting(KEY_DROPPED);
    if (dropped !== undefined && !REASONS.includes(dropped)) reject(store, KEY_DROPPED, "not a reason");
    else if (dropped !== undefined) {
      disk.droppedAtBoot = dropped as UnsavedReason;
      // Named now (by the caller): the marker goes, a deletion that the flash budget never refuses.
      store.writeSetting(KEY_DROPPED, undefined);
    }
    let waiting: { order: number; message: OutMessage; slot: number }[] | undefined;
    for (let i = 0; i < slots; i++) {
      const value = store.readSetting(KEY_FLIGHT + i);
      if (value === undefined) continue;
      const flight = parseFlight(value);
      const problem = flight && topicNameProblem(flight.message.topic);
      if (flight !== undefined && flight.order !== undefined && !problem) {
        waiting ??= [];
        waiting.push({ order: flight.order, message: flight.message, slot: i });
        disk.mark(i, true);
        if (flight.order >= disk.order) disk.order = flight.order + 1;
        continue;
      }
      if (flight === undefined || this.#outgoing?.flights.has(flight.id) || problem) {
        // A topic brokers refuse (saved by a firmware with looser rules) would be resent, and the connection
        // dropped, at every reconnect and every boot.
        const why = !flight
          ? "not a stored message"
          : problem
            ? `topic ${flight.message.topic}: ${problem}`
            : `packet id ${flight.id} stored twice`;
        reject(store, KEY_FLIGHT + i, why);
        continue;
      }
      this.madeOutgoing().flights.set(flight.id, {
        message: flight.message,
        released: flight.released ? RELEASED : 0,
        slot: i,
        sentOn: 0,
        seq: 0,
      });
      disk.mark(i, true);
      this.#next = flight.id === MAX_ID ? 1 : flight.id + 1;
    }
    const incoming = store.readSetting(KEY_INCOMING);
    for (const word of (incoming ?? "").split(" ")) {
      const id = Number(word);
      if (id > 0 && id <= MAX_ID && Number.isInteger(id)) this.madeIncoming().add(id);
    }
    if (incoming !== undefined && this.#incoming === undefined) reject(store, KEY_INCOMING, "not packet ids");
    this.restoreSuspect(disk, waiting);
    // Waiting messages wait again in the order they were accepted, behind the flights (sent before them).
    waiting?.sort((a, b) => a.order - b.order);
    const messages = waiting ? waiting.map((entry) => entry.message) : [];
    if (waiting) this.madeWaiting().requeue(messages);
    disk.restored = (this.#outgoing?.flights.size ?? 0) + messages.length;
    if (options.persist === false) {
      // Not kept: what was stored leaves as new messages, each value removed once its message is through (a power
      // cut before that sends it again at the next boot: chaos seed 5 lost them when they were removed here), and
      // nothing more is stored.
      if (this.#incoming) store.writeSetting(KEY_INCOMING, undefined);
      if (disk.lost) store.writeSetting(KEY_LOST, undefined);
      disk.lostWritten = false;
      this.#incoming = undefined;
      for (const flight of this.#outgoing?.flights.values() ?? []) {
        disk.leftover ??= new Map();
        disk.leftover.set(flight.message, flight.slot);
        flight.slot = NEW;
      }
      for (const entry of waiting ?? []) {
        disk.leftover ??= new Map();
        disk.leftover.set(entry.message, entry.slot);
      }
      disk.slots = 0;
      disk.slotsUsed = disk.slotsUsedHigh = 0;
      // Nothing stored to remove later, nothing read to answer for (lost, droppedAtBoot): the store is done with.
      if (!disk.leftover && !disk.lost && disk.droppedAtBoot === undefined) this.#disk = undefined;
      return;
    }
    disk.persist = true;
    if (waiting) disk.queued = new Map(waiting.map((entry) => [entry.message, entry.slot]));
  }

  /** Whether a previous run held state it could not store: the broker's session no longer matches ours. */
  get lost(): boolean {
    return this.#disk?.lost ?? false;
  }

  /** QoS 1/2 messages read back from the store at construction, in flight and waiting. */
  get restored(): number {
    return this.#disk?.restored ?? 0;
  }

  /**
   * A previous run ended without a polite shutdown while holding waiting QoS 1/2 messages it could not store: why
   * (the last of them), or undefined. How many is not known: counting them would cost a write each.
   */
  get droppedAtBoot(): UnsavedReason | undefined {
    return this.#disk?.droppedAtBoot;
  }

  /** Messages taken out of the session by quarantine(). */
  get quarantined(): number {
    return this.#outgoing?.quarantined ?? 0;
  }

  /** Our QoS 1/2 messages sent and not completed. */
  get inflight(): number {
    return this.#outgoing?.flights.size ?? 0;
  }

  /** Messages waiting for the connection or for a Receive Maximum slot. */
  get waiting(): number {
    return this.#waiting?.length ?? 0;
  }

  /**
   * Whether a QoS 0 message published now leaves at once (`publish` would return its PUBLISH): nothing waits before
   * it and the connection takes messages. The session keeps nothing of such a message: it may be sent without it.
   */
  get releasesNow(): boolean {
    return this.#limit !== 0 && this.#outgoing?.held === undefined && !this.#waiting?.length;
  }

  /** QoS 0 messages dropped from the waiting queue so far (to make room, or because they did not fit). */
  get dropped(): number {
    return this.#waiting?.dropped ?? 0;
  }

  /**
   * Called on every successful CONNACK with its Session Present flag and Receive Maximum (65535 when absent, and in
   * 3.1.1). Messages in flight are resent even beyond a smaller new maximum: the broker already holds them.
   */
  resume(sessionPresent: boolean, brokerReceiveMaximum = MAX_ID, brokerMaximumQoS: QoS = 2): ResumeResult {
    this.#limit = Math.max(1, brokerReceiveMaximum);
    this.#maxQoS = brokerMaximumQoS;
    this.#connection++;
    const outgoing = this.#outgoing;
    // Whatever the last connection was probing is over (its close called suspend, or should have).
    if (outgoing) outgoing.held = undefined;
    this.#pings = undefined;
    const send: Packet[] = [];
    const unacknowledged = this.#controls ? Array.from(this.#controls) : [];
    this.#controls = undefined;
    const requeued = sessionPresent ? 0 : (outgoing?.flights.size ?? 0);
    if (sessionPresent) {
      for (const [id, flight] of outgoing?.flights ?? []) {
        if (flight.released) flight.released = RELEASED_AGAIN;
        send.push(flight.released ? ack(PUBREL, id, 0) : toPublish(flight.message, id, true));
      }
    } else {
      // Sent again even after PUBREC: once the broker has forgotten, a duplicate is better than a loss.
      const again: OutMessage[] = [];
      for (const [id, flight] of outgoing?.flights ?? []) {
        again.push(flight.message);
        this.forget(id, flight);
      }
      if (again.length > 0) this.madeWaiting().requeue(again);
      // Waiting again, stored as waiting messages: most leave at once below and overwrite the value with a flight's,
      // but a broker that lost our session is rare enough for the write to be worth it.
      for (const message of again) this.keep(message);
      this.clearIncoming();
      // A broker that should have kept our session (we store it) and lost it: someone else ends our connections (a
      // twin with our id that starts clean, a restart), so the closes that followed our messages say nothing of them.
      const disk = this.#disk;
      if (outgoing && disk?.persist && this.#connection > 1) outgoing.closes = undefined;
      // The broker starts afresh too: a previous run's lost state no longer matters.
      if (disk?.lostWritten && disk.unstored === 0 && disk.write(KEY_LOST, undefined)) disk.lostWritten = false;
    }
    const suspect = this.suspected();
    if (suspect) {
      // The broker is asked for a PINGRESP before anything leaves: a connection that dies before it answers (a
      // middlebox cutting every connection, a broker going down) says nothing about the message. Then the held
      // packets leave one at a time (see probed).
      outgoing!.held = send.reverse();
      return { send: [], requeued, unacknowledged, suspect };
    }
    this.sent();
    this.releaseAll(send);
    return { send, requeued, unacknowledged, suspect };
  }

  /**
   * The broker answered a PINGREQ (see pinged). After a resume() with a suspect, what was held back, to send now, in
   * order.
   */
  probed(): Packet[] {
    // The broker reads in order: its PINGRESP says it read every message sent before that PINGREQ, and dropped the
    // connection for none of them: those are cleared of suspicion.
    const pings = this.#pings;
    const seq = pings?.shift();
    if (pings?.length === 0) this.#pings = undefined;
    const outgoing = this.#outgoing;
    if (outgoing && seq !== undefined && seq > outgoing.readPast) {
      outgoing.readPast = seq;
      const closes = outgoing.closes;
      if (closes) {
        for (const flight of outgoing.flights.values()) {
          if (flight.sentOn === this.#connection && flight.seq <= seq) closes.delete(flight.message);
        }
      }
    }
    // Not probing; or another PINGREQ is still unanswered (a remote command's confirm, a keep alive): the next held
    // packet waits for its answer too, so that no more than one is ever unread.
    if (outgoing?.held === undefined || this.#pings) return [];
    // One held packet at a time, the caller sending a PINGREQ behind each: the broker may have dropped the acks of
    // the messages before the one it closed on, and a close then names that one, not the oldest.
    const next = outgoing.held.pop();
    if (next !== undefined) {
      const flight = "packetId" in next && next.packetId ? outgoing.flights.get(next.packetId) : undefined;
      if (flight) this.sentNow(flight);
      return [next];
    }
    outgoing.held = undefined;
    const send: Packet[] = [];
    this.releaseAll(send);
    return send;
  }

  /** Whether a message in flight, or the first waiting, is one the broker closed a connection after. */
  private suspected(): boolean {
    const outgoing = this.#outgoing;
    const closes = outgoing?.closes;
    if (!outgoing || !closes?.size) return false;
    for (const flight of outgoing.flights.values()) if (closes.has(flight.message)) return true;
    const first = this.#waiting?.first();
    return first !== undefined && closes.has(first);
  }

  /** A PINGREQ leaves now, behind everything sent so far (see probed). */
  pinged(): void {
    this.#pings ??= [];
    this.#pings.push(this.#outgoing?.seq ?? 0);
  }

  /** Every flight was (re)sent now, on this connection. */
  private sent(): void {
    for (const flight of this.#outgoing?.flights.values() ?? []) this.sentNow(flight);
  }

  /** A flight was (re)sent now: its connection and its place in the order of our sends. */
  private sentNow(flight: Flight): void {
    flight.sentOn = this.#connection;
    flight.seq = ++this.#outgoing!.seq;
  }

  /** The connection is gone: publishes wait until the next `resume()`. */
  suspend(): void {
    this.#limit = 0;
    if (this.#outgoing) this.#outgoing.held = undefined;
    this.#pings = undefined;
  }

  /**
   * The broker closed a connection that `resume()` had started. The first flight (re)sent on it that the broker is
   * not known to have read (no ack nor PINGRESP for anything sent after it) is the suspect: a broker reads packets in
   * order and acks as it goes, and one that drops a client for a packet (mosquitto for a 3.1.1 PUBLISH over its
   * max_packet_size, say) does it again when the message is resent at every reconnect, for ever. At
   * QUARANTINE_CLOSES such closes the message is taken out of the session (its stored value too) and returned, with
   * how many closes it took.
   */
  quarantine(): { message: OutMessage; closes: number } | undefined {
    const outgoing = this.#outgoing;
    if (outgoing === undefined) return undefined;
    let first: number | undefined;
    let flight: Flight | undefined;
    for (const [id, f] of outgoing.flights) {
      if (f.sentOn !== this.#connection || f.seq <= outgoing.readPast || (flight && f.seq > flight.seq)) continue;
      first = id;
      flight = f;
    }
    if (first === undefined || !flight) return undefined;
    const { message } = flight;
    const closes = (outgoing.closes?.get(message) ?? 0) + 1;
    if (closes < QUARANTINE_CLOSES) {
      outgoing.closes ??= new Map();
      outgoing.closes.set(message, closes);
      this.#disk?.markSuspect(flight);
      return undefined;
    }
    outgoing.closes?.delete(message);
    this.forget(first, flight);
    this.#disk?.finished(message);
    outgoing.quarantined++;
    return { message, closes };
  }

  /**
   * Returns the PUBLISH to send now, or what became of the message: `queued` when it waits (offline, Receive
   * Maximum, no free id), `dropped` or `full` when the waiting queue had no room for it (see MessageQueue).
   */
  publish(message: OutMessage): Publish | QueueResult {
    // A message that can leave now never waits, and the queue's bounds are for what waits: it goes at once, whatever
    // its size. Anything already waiting is blocked, and this message must not overtake it.
    if (!this.#waiting?.length) {
      const now = this.releaseMessage(message, false);
      if (now) return now;
    }
    const result = this.madeWaiting().push(message);
    if (result === "queued") this.keep(message);
    return result;
  }

  /**
   * A polite shutdown: how many QoS 1/2 messages the reboot loses unnamed otherwise (waiting ones held in RAM only;
   * with no session kept, those in flight too) and why, or undefined. Called once they are named: the power cut
   * marker goes. Flights held in RAM in a kept session are not counted: the next boot names them (`lost`).
   */
  losing(): { count: number; reason: UnsavedReason } | undefined {
    const outgoing = this.#outgoing;
    const disk = this.#disk;
    let count = outgoing?.unsaved ?? 0;
    if (!disk?.persist)
      for (const flight of outgoing?.flights.values() ?? []) {
        if (!flight.message.transient && !disk?.leftover?.has(flight.message)) count++;
      }
    if (disk?.droppedWritten && disk.write(KEY_DROPPED, undefined)) disk.droppedWritten = false;
    if (count === 0) return undefined;
    return { count, reason: outgoing?.unsaved ? outgoing.unsavedWhy : "no_session" };
  }

  /**
   * Gives up one of our flights that cannot be sent (it exceeds the broker's Maximum Packet Size, say): without
   * this, it would hold its identifier and Receive Maximum slot for good. Its completion carries `reasonCode`.
   */
  abandon(packetId: number, reasonCode: number): AckResult {
    const outgoing = this.#outgoing;
    const flight = outgoing?.flights.get(packetId);
    if (outgoing === undefined || flight === undefined) return { send: [] };
    this.forget(packetId, flight);
    this.#disk?.finished(flight.message);
    outgoing.closes?.delete(flight.message);
    const send: Packet[] = [];
    this.releaseAll(send);
    const { qos } = flight.message;
    return { send, completed: { packetId, qos, reasonCode, ok: false, message: flight.message } };
  }

  /** A PUBACK, PUBREC or PUBCOMP from the broker (a PUBREL is passed on to `onPubrel`). */
  onAck(packet: Ack): AckResult {
    const { type, packetId, reasonCode } = packet;
    if (type === PUBREL) return { send: [this.onPubrel(packet)] };
    const outgoing = this.#outgoing;
    const flight = outgoing?.flights.get(packetId);
    if (outgoing === undefined || flight === undefined) {
      // 5.0 answers an unknown PUBREC with PUBREL 0x92 so that the broker can drop its state (3.6.2.1).
      const send = type === PUBREC ? [ack(PUBREL, packetId, this.notFound())] : [];
      return { send, error: { reasonCode: ID_NOT_FOUND, text: `${NAMES[type]} for unknown packet id ${packetId}` } };
    }
    // The broker reads in order: it read every flight sent before this one.
    if (flight.seq > outgoing.readPast) outgoing.readPast = flight.seq;
    const { qos } = flight.message;
    if (type === PUBACK ? qos !== 1 : qos !== 2 || (type === PUBCOMP && !flight.released)) {
      return {
        send: [],
        error: { reasonCode: PROTOCOL_ERROR, text: `unexpected ${NAMES[type]} for QoS ${qos} packet id ${packetId}` },
      };
    }
    if (type === PUBREC && (flight.released || reasonCode < 0x80)) {
      if (!flight.released) {
        flight.released = RELEASED;
        this.#disk?.save(packetId, flight);
      }
      return { send: [ack(PUBREL, packetId, 0)] };
    }
    this.forget(packetId, flight);
    this.#disk?.finished(flight.message);
    outgoing.closes?.delete(flight.message);
    const send: Packet[] = [];
    this.releaseAll(send);
    // A PUBCOMP never refuses: its only other code, 0x92, answers a PUBREL sent again after the broker had already
    // completed the flow (our first PUBCOMP was lost with the connection): after PUBREC the message is delivered.
    // To a first PUBREL it means the broker lost a flow it took on with PUBREC: its session and ours disagree.
    const ok = type === PUBCOMP || reasonCode < 0x80;
    const completed = { packetId, qos, reasonCode, ok, message: flight.message };
    if (type !== PUBCOMP || reasonCode !== ID_NOT_FOUND || flight.released === RELEASED_AGAIN)
      return { send, completed };
    const text = `PUBCOMP for packet id ${packetId} answers our first PUBREL: the broker lost the flow it accepted with PUBREC (its session and ours disagree)`;
    return { send, completed, error: { reasonCode: ID_NOT_FOUND, text } };
  }

  /** An incoming PUBLISH. A QoS 2 message is delivered once, however often the broker sends it before PUBREL. */
  onPublish(publish: Publish): PublishResult {
    const qos = publish.qos;
    if (qos === 0) return DELIVER;
    const packetId = publish.packetId;
    if (!packetId) return { deliver: false, error: { reasonCode: PROTOCOL_ERROR, text: "PUBLISH without packet id" } };
    if (qos === 2 && this.#incoming?.has(packetId)) return { deliver: false, send: ack(PUBREC, packetId, 0) };
    // QoS 1 is answered at once, so only QoS 2 awaiting PUBREL is still in flight from the broker's point of view.
    // 3.1.1 has no Receive Maximum: the broker was never told one (mosquitto sends max_inflight_messages at once),
    // and the identifiers bound the set to 65535.
    if (this.protocolVersion === 5 && (this.#incoming?.size ?? 0) >= this.receiveMaximum) {
      return {
        deliver: false,
        error: { reasonCode: RECEIVE_MAXIMUM_EXCEEDED, text: `more than ${this.receiveMaximum} QoS 2 in flight` },
      };
    }
    if (qos === 2) {
      const incoming = this.madeIncoming();
      incoming.add(packetId);
      this.#disk?.incomingChanged(incoming, incoming.size - 1);
    }
    return { deliver: true, send: ack(qos === 1 ? PUBACK : PUBREC, packetId, 0) };
  }

  /** An incoming PUBREL: the PUBCOMP to answer. Unknown ids are normal after a reconnect (our PUBCOMP was lost). */
  onPubrel(pubrel: Ack): Ack {
    const known = this.#incoming?.has(pubrel.packetId) === true;
    if (known) {
      this.#incoming!.delete(pubrel.packetId);
      this.#disk?.incomingChanged(this.#incoming, this.#incoming!.size + 1);
    }
    return ack(PUBCOMP, pubrel.packetId, known ? 0 : this.notFound());
  }

  /** A packet identifier for a SUBSCRIBE or UNSUBSCRIBE, or undefined when all 65535 are in use. */
  allocate(): number | undefined {
    const id = this.nextId();
    if (id === undefined) return id;
    this.#controls ??= new Set();
    this.#controls.add(id);
    return id;
  }

  /** Returns the identifier of an answered SUBSCRIBE/UNSUBSCRIBE; false when it was not lent out. */
  release(packetId: number): boolean {
    const controls = this.#controls;
    if (!controls?.delete(packetId)) return false;
    if (controls.size === 0) this.#controls = undefined;
    return true;
  }

  /** Forgets everything, waiting messages included (a clean start chosen by the application). */
  clear(): void {
    const outgoing = this.#outgoing;
    for (const [id, flight] of outgoing?.flights ?? []) this.forget(id, flight);
    this.#controls = undefined;
    this.clearIncoming();
    this.#waiting?.clear();
    this.#disk?.clear();
    if (outgoing) {
      this.unsave(outgoing, -outgoing.unsaved);
      outgoing.closes = undefined;
    }
  }

  /**
   * A QoS 1/2 message starts waiting: stored so that a reboot does not lose it, else counted as held in RAM. A
   * previous run's message in a session not kept is stored already (its value stays until it is through, see
   * Disk.leftover): counted, it would be named lost at a shutdown that loses nothing (unqueue never uncounts it).
   */
  private keep(message: OutMessage): void {
    const disk = this.#disk;
    if (message.qos === 0 || message.transient || disk?.leftover?.has(message)) return;
    const why = disk?.persist ? disk.saveWaiting(message) : "no_session";
    if (why === undefined) return;
    const outgoing = this.madeOutgoing();
    outgoing.unsavedWhy = why;
    this.unsave(outgoing, 1);
  }

  /** A waiting message leaves the queue: its stored value's slot, for its flight to overwrite, or NEW. */
  private unqueue(message: OutMessage): number {
    const slot = this.#disk?.unqueue(message);
    if (slot !== undefined) return slot;
    const outgoing = this.#outgoing;
    if (outgoing && message.qos > 0 && !message.transient && !this.#disk?.leftover?.has(message))
      this.unsave(outgoing, -1);
    return NEW;
  }

  /** Keeps KEY_DROPPED written exactly while waiting QoS 1/2 messages are held in RAM only, in a kept session. */
  private unsave(outgoing: Outgoing, delta: number): void {
    outgoing.unsaved = Math.max(0, outgoing.unsaved + delta);
    const dropped = outgoing.unsaved > 0;
    const disk = this.#disk;
    if (!disk?.persist || dropped === disk.droppedWritten) return;
    if (disk.write(KEY_DROPPED, dropped ? outgoing.unsavedWhy : undefined)) disk.droppedWritten = dropped;
  }

  /** At boot: the message KEY_SUSPECT names starts with one close counted; a mark naming no message goes. */
  private restoreSuspect(disk: Disk, waiting: { message: OutMessage; slot: number }[] | undefined): void {
    const value = disk.store.readSetting(KEY_SUSPECT);
    if (value === undefined) return;
    const slot = Number(value);
    let message: OutMessage | undefined;
    for (const flight of this.#outgoing?.flights.values() ?? []) if (flight.slot === slot) message = flight.message;
    for (const entry of waiting ?? []) if (entry.slot === slot) message = entry.message;
    if (message === undefined) {
      try {
        disk.store.writeSetting(KEY_SUSPECT, undefined);
      } catch {}
      return;
    }
    this.madeOutgoing().closes = new Map([[message, 1]]);
    disk.suspectSlot = slot;
  }

  private madeOutgoing(): Outgoing {
    this.#outgoing ??= new Outgoing();
    return this.#outgoing;
  }

  private madeIncoming(): Set<number> {
    this.#incoming ??= new Set();
    return this.#incoming;
  }

  private madeWaiting(): MessageQueue<OutMessage> {
    this.#waiting ??= new MessageQueue(this.#limits);
    return this.#waiting;
  }

  /** A flight ended or left for the waiting queue: its stored value goes. */
  private forget(id: number, flight: Flight): void {
    this.#outgoing?.flights.delete(id);
    this.#disk?.forget(flight);
  }

  private clearIncoming(): void {
    const before = this.#incoming?.size ?? 0;
    this.#incoming = undefined;
    this.#disk?.incomingChanged(undefined, before);
  }

  private notFound(): number {
    return this.protocolVersion === 5 ? ID_NOT_FOUND : 0;
  }

  private nextId(): number | undefined {
    const flights = this.#outgoing?.flights;
    if ((flights?.size ?? 0) + (this.#controls?.size ?? 0) >= MAX_ID) return undefined;
    let id = this.#next;
    while (flights?.has(id) || this.#controls?.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#next = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  /** Sends the first waiting message if the connection, Receive Maximum and identifiers allow it. */
  private releaseOne(): Publish | undefined {
    const message = this.#waiting?.first();
    const publish = message && this.releaseMessage(message, true);
    if (publish) this.#waiting!.shift();
    return publish;
  }

  /**
   * The PUBLISH for `message` if the connection, Receive Maximum and identifiers let it leave now. `waited`: it is
   * the first waiting message (taken out of the queue by the caller).
   */
  private releaseMessage(message: OutMessage, waited: boolean): Publish | undefined {
    if (this.#limit === 0 || this.#outgoing?.held !== undefined) return undefined;
    let packetId: number | undefined;
    const out = message.qos > this.#maxQoS ? this.downgraded(message) : message;
    if (out.qos > 0) {
      if ((this.#outgoing?.flights.size ?? 0) >= this.#limit) return undefined;
      packetId = this.nextId();
      if (packetId === undefined) return undefined;
    }
    // A stored waiting message hands its value to its flight, overwritten at once: one write, not a delete and one.
    const slot = waited ? this.unqueue(message) : NEW;
    if (packetId !== undefined) {
      const outgoing = this.madeOutgoing();
      const flight: Flight = { message: out, released: 0, slot, sentOn: this.#connection, seq: ++outgoing.seq };
      outgoing.flights.set(packetId, flight);
      this.#disk?.save(packetId, flight);
    } else if (slot >= 0) this.#disk?.free(slot);
    return toPublish(out, packetId, false);
  }

  /** A copy of `message` at the broker's Maximum QoS, which takes over what is kept of it by identity. */
  private downgraded(message: OutMessage): OutMessage {
    const out = { ...message, qos: this.#maxQoS };
    rekey(this.#disk?.leftover, message, out);
    rekey(this.#outgoing?.closes, message, out);
    return out;
  }

  private releaseAll(send: Packet[]): void {
    for (let publish = this.releaseOne(); publish; publish = this.releaseOne()) send.push(publish);
  }
}

/** Our QoS 1/2 messages (see Session): made with the first of them, published or read back from the store. */
class Outgoing {
  /** In flight, by packet identifier. Map order is send order, which is what 4.6 requires of resends. */
  readonly flights = new Map<number, Flight>();
  /** Flights sent so far; the last one of them the broker is known to have read (see Session.quarantine). */
  seq = 0;
  readPast = 0;
  /** Messages the broker closed the connection after, nothing acknowledged since, and how often. */
  closes: Map<OutMessage, number> | undefined;
  /** Messages taken out of the session by quarantine(). */
  quarantined = 0;
  /**
   * Resumed with a suspect (probing): what resume() would have sent, last first, each popped by probed(); undefined
   * when not probing.
   */
  held: Packet[] | undefined;
  /** Waiting messages held in RAM only (transient ones aside), and why the last of them is. */
  unsaved = 0;
  unsavedWhy: UnsavedReason = "no_session";
}

/**
 * The store (see Session) and what keeps it right: which slots hold a value, which markers are written, what a
 * previous run left. Its methods touch nothing of the session but the flights and messages handed to them.
 */
class Disk {
  /** Whether this run keeps writing the state; false: what a previous run stored is removed through it, no more. */
  persist = false;
  /** See Session.lost, restored and droppedAtBoot: read at construction. */
  lost = false;
  restored = 0;
  droppedAtBoot: UnsavedReason | undefined;
  /**
   * With no session kept: the messages a previous run stored, each with its slot. A value goes when its message
   * completes (or is given up), not at boot, so that a power cut before then does not lose it.
   */
  leftover: Map<OutMessage, number> | undefined;
  /** The slot KEY_SUSPECT names, or -1. */
  suspectSlot = -1;
  /**
   * A bit per slot (see `slots`), set when in use (an array would be a slot each): slots 0..31 in the first number,
   * 32..63 in the second.
   */
  slotsUsed = 0;
  slotsUsedHigh = 0;
  /** Flights and incoming identifiers held in RAM only (too big to store, no slot free, or a store that failed). */
  unstored = 0;
  incomingStored = true;
  /** Whether KEY_LOST is written now. */
  lostWritten = false;
  /** The stored waiting messages with their slots (made with the first). */
  queued: Map<OutMessage, number> | undefined;
  /** The order number of the next stored waiting message: restored ones wait again in this order. */
  order = 0;
  /** Whether KEY_DROPPED is written now. */
  droppedWritten = false;

  constructor(
    readonly store: SessionStore,
    /** Stored values at most (the flights' and the waiting messages', one pool). */
    public slots: number,
    /** Stored waiting messages at most. */
    readonly queueSlots: number,
  ) {}

  /** Stores a flight (again, after PUBREC); a flight that cannot be stored is counted as unstored, once. */
  save(id: number, flight: Flight): void {
    if (!this.persist || flight.message.transient) return;
    const was = flight.slot;
    const slot = was >= 0 ? was : this.freeSlot();
    const value = slot < 0 ? undefined : storedValue(String(id), flight.released, flight.message);
    if (value !== undefined && this.write(KEY_FLIGHT + slot, value)) {
      this.mark(slot, true);
      flight.slot = slot;
      if (was === IN_RAM) this.unstore(-1);
      return;
    }
    // Its stored value, if any, is stale now: removed, and the flight counted as held in RAM only.
    if (was >= 0) this.free(was);
    flight.slot = IN_RAM;
    if (was !== IN_RAM) this.unstore(1);
  }

  /** A flight ended or left for the waiting queue: its stored value goes. */
  forget(flight: Flight): void {
    if (!this.persist) return;
    if (flight.slot >= 0) this.free(flight.slot);
    else if (flight.slot === IN_RAM) this.unstore(-1);
  }

  /** Stores a waiting message (in a kept session): undefined once stored, else why it cannot be. */
  saveWaiting(message: OutMessage): UnsavedReason | undefined {
    // What the message is decides first: a slot freed later would not help it.
    const value = storedValue(QUEUED + this.order, 0, message);
    if (value === undefined) return message.properties ? "properties" : "too_large";
    const slot = (this.queued?.size ?? 0) < this.queueSlots ? this.freeSlot() : -1;
    if (slot < 0) return "no_slot";
    if (!this.write(KEY_FLIGHT + slot, value)) return "store_refused";
    this.order++;
    this.mark(slot, true);
    this.queued ??= new Map();
    this.queued.set(message, slot);
    return undefined;
  }

  /** A waiting message leaves the queue: its stored value's slot, or undefined when it has none. */
  unqueue(message: OutMessage): number | undefined {
    const slot = this.queued?.get(message);
    if (slot !== undefined) this.queued!.delete(message);
    return slot;
  }

  /** The session is cleared: the stored waiting messages go, and so does what a previous run left. */
  clear(): void {
    for (const slot of this.queued?.values() ?? []) this.free(slot);
    this.queued = undefined;
    for (const message of [...(this.leftover?.keys() ?? [])]) this.finished(message);
  }

  /** A stored value goes, and its slot is free again. */
  free(slot: number): void {
    this.write(KEY_FLIGHT + slot, undefined);
    this.mark(slot, false);
    if (slot === this.suspectSlot) this.unmarkSuspect();
  }

  /** A message left the session: the value a previous run stored for it, in a session not kept, goes (see leftover). */
  finished(message: OutMessage): void {
    const slot = this.leftover?.get(message);
    if (slot === undefined) return;
    this.leftover!.delete(message);
    this.write(KEY_FLIGHT + slot, undefined);
    if (slot === this.suspectSlot) this.unmarkSuspect();
  }

  /**
   * The first close after a stored message is kept in the store (KEY_SUSPECT, its slot: one write, none when it
   * names that slot already), so that a reboot between the two closes quarantine needs does not start the count
   * again: a device rebooted after every close (a watchdog, a power cycle, chaos seed 5) would resend the message at
   * every boot, for ever. Not removed when a PINGRESP clears the message (a write for nothing: its ack follows and
   * frees the slot, which removes it); a message that never had a value (transient, too large) is lost by a reboot
   * anyway.
   */
  markSuspect(flight: Flight): void {
    const slot = flight.slot >= 0 ? flight.slot : (this.leftover?.get(flight.message) ?? -1);
    if (slot < 0 || slot === this.suspectSlot) return;
    if (this.write(KEY_SUSPECT, String(slot))) this.suspectSlot = slot;
  }

  private unmarkSuspect(): void {
    this.write(KEY_SUSPECT, undefined);
    this.suspectSlot = -1;
  }

  /** Writes the incoming QoS 2 identifiers after a change (`before`: how many there were). */
  incomingChanged(incoming: Set<number> | undefined, before: number): void {
    if (!this.persist || (before === 0 && incoming === undefined)) return;
    let value = "";
    for (const id of incoming ?? []) value += value ? ` ${id}` : `${id}`;
    const stored = value.length <= VALUE_MAX && this.write(KEY_INCOMING, value || undefined);
    // The list counts as one piece of unstored state while it does not fit.
    if (stored !== this.incomingStored) this.unstore(stored ? -1 : 1);
    this.incomingStored = stored;
  }

  /** Keeps KEY_LOST written exactly while some of the state the broker holds us to is in RAM only. */
  private unstore(delta: number): void {
    this.unstored = Math.max(0, this.unstored + delta);
    const lost = this.unstored > 0;
    if (lost !== this.lostWritten && this.write(KEY_LOST, lost ? "1" : undefined)) this.lostWritten = lost;
  }

  /** False when the store refused the value (a host's limits: Moddable's Preference throws). */
  write(key: string, value: string | undefined): boolean {
    try {
      this.store.writeSetting(key, value);
      return true;
    } catch {
      return false;
    }
  }

  mark(slot: number, used: boolean): void {
    const bit = 1 << (slot & 31);
    if (slot < 32) this.slotsUsed = used ? this.slotsUsed | bit : this.slotsUsed & ~bit;
    else this.slotsUsedHigh = used ? this.slotsUsedHigh | bit : this.slotsUsedHigh & ~bit;
  }

  private used(slot: number): boolean {
    return ((slot < 32 ? this.slotsUsed : this.slotsUsedHigh) & (1 << (slot & 31))) !== 0;
  }

  /** The first slot not in use, or -1. */
  private freeSlot(): number {
    for (let slot = 0; slot < this.slots; slot++) if (!this.used(slot)) return slot;
    return -1;
  }
}

const NAMES = Object.freeze(["", "", "", "", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP"]);

/** A stored value that does not parse: named by the store when it can, removed in any case. */
function reject(store: SessionStore, key: string, why: string): void {
  if (store.rejected) {
    store.rejected(key, why);
    return;
  }
  try {
    store.writeSetting(key, undefined);
  } catch {}
}

/** What `map` holds for `from`, if anything, is held for `to` instead. */
function rekey<K, V>(map: Map<K, V> | undefined, from: K, to: K): void {
  const value = map?.get(from);
  if (value === undefined) return;
  map!.delete(from);
  map!.set(to, value);
}

function ack(type: Ack["type"], packetId: number, reasonCode: number): Ack {
  return { type, packetId, reasonCode };
}

function toPublish(message: OutMessage, packetId: number | undefined, dup: boolean): Publish {
  const m = message;
  return {
    type: PUBLISH,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    dup,
    packetId,
    properties: m.properties,
  };
}

/**
 * A stored message: `<id> <qos>[r][R] <topic length> <topic><payload in base64>`; r: released, R: retain. `id` is
 * the flight's packet identifier, or for a waiting message QUEUED and its order number (`q17`).
 */
function storedValue(id: string, released: number, message: OutMessage): string | undefined {
  const { topic, payload, qos, retain, properties } = message;
  // Properties (MQTT 5) are not stored: such a message stays in RAM only. So are values NVS may not hold.
  if (properties !== undefined || topic.indexOf("\0") >= 0) return undefined;
  const head = `${id} ${qos}${released ? "r" : ""}${retain ? "R" : ""} ${topic.length} ${topic}`;
  if (head.length + Math.ceil(payload.length / 3) * 4 > VALUE_MAX) return undefined;
  return head + toBase64(payload);
}

/** A stored flight (`id`), or a stored waiting message (`order`; its `id` is 0). */
function parseFlight(
  value: string | undefined,
): { id: number; order?: number; message: OutMessage; released: boolean } | undefined {
  if (value === undefined) return undefined;
  const a = value.indexOf(" ");
  const b = value.indexOf(" ", a + 1);
  const c = value.indexOf(" ", b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const waiting = value[0] === QUEUED;
  const number = Number(value.slice(waiting ? 1 : 0, a));
  const flags = value.slice(a + 1, b);
  const qos = Number(flags[0]);
  const length = Number(value.slice(b + 1, c));
  const payload = fromBase64(value.slice(c + 1 + length));
  const valid = waiting ? Number.isInteger(number) && number >= 0 && a > 1 : number > 0 && number <= MAX_ID;
  if (!valid || (qos !== 1 && qos !== 2) || !(length >= 0) || payload === undefined) return undefined;
  const message: OutMessage = { topic: value.slice(c + 1, c + 1 + length), payload, qos, retain: flags.includes("R") };
  if (waiting) return { id: 0, order: number, message, released: false };
  return { id: number, message, released: flags.includes("r") };
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    text += BASE64[n >> 18] + BASE64[(n >> 12) & 63];
    text += i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : "=";
    text += i + 2 < bytes.length ? BASE64[n & 63] : "=";
  }
  return text;
}

function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let pad = 0;
  while (pad < 2 && text[text.length - 1 - pad] === "=") pad++;
  const bytes = new Uint8Array((text.length / 4) * 3 - pad);
  let n = 0;
  for (let i = 0; i < text.length - pad; i++) {
    const digit = BASE64.indexOf(text[i]);
    if (digit < 0) return undefined;
    n = (n << 6) | digit;
    if (i % 4 === 3) {
      const at = (i >> 2) * 3;
      bytes[at] = n >> 16;
      bytes[at + 1] = (n >> 8) & 255;
      bytes[at + 2] = n & 255;
      n = 0;
    }
  }
  // The last group, short of its padding.
  const rest = (text.length - pad) % 4;
  if (rest) {
    n <<= 6 * (4 - rest);
    const at = ((text.length - pad) >> 2) * 3;
    bytes[at] = n >> 16;
    if (rest === 3) bytes[at + 1] = (n >> 8) & 255;
  }
  return bytes;
}
