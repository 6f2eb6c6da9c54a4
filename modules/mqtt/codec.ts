// MQTT 3.1.1 and 5.0 packets to bytes and back. The encoder writes straight into one reusable buffer; the decoder
// reads pushed bytes in place and copies only what outlives the push: the packet's fields, and the start of a
// packet that is still arriving. Both report invalid input as a CodecError value: nothing here throws on bad
// bytes or bad packets.
import { copyOf } from "tether/mqtt/bytes";
import {
  AUTH,
  CONNACK,
  CONNECT,
  type Connect,
  DISCONNECT,
  PACKET_NAMES,
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
} from "tether/mqtt/packets";
import {
  BINARY,
  propertyAllowed,
  propertyById,
  propertyByName,
  propertyRepeats,
  propertyValueValid,
  STRING,
  STRING_PAIR,
  VARIABLE,
  WILL,
} from "tether/mqtt/properties";
import { validReason } from "tether/mqtt/reasons";
import { validTopicFilter, validTopicName } from "tether/mqtt/topic";
import { asciiEnd, latin1, readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";

export type CodecErrorCode =
  | "malformed_length"
  | "packet_too_large"
  | "bad_packet_type"
  | "reserved_flags"
  | "malformed_packet"
  | "bad_utf8"
  | "bad_property"
  | "duplicate_property"
  | "bad_topic"
  | "bad_qos"
  | "bad_packet_id"
  | "protocol_error"
  | "unsupported_protocol_version";

/** A PUBLISH over our Maximum Packet Size that the decoder discarded as it streamed past (MQTT 3.1.1 only). */
export interface SkippedPublish {
  /** The topic, or its first TOPIC_KEPT bytes followed by `...`. */
  topic: string;
  qos: QoS;
  /** 0 for QoS 0. */
  packetId: number;
  /** The packet's encoded size. */
  size: number;
  /**
   * False for the notice given as soon as its topic and packet identifier have arrived (a large packet on a slow
   * link takes hours to pass; it is named at once), true once all of it has passed: then it may be acknowledged.
   */
  done: boolean;
}

/** Why a packet could not be encoded or decoded. A value, never thrown. */
export class CodecError {
  readonly code: CodecErrorCode;
  /** The packet type and what was wrong with it, e.g. `PUBACK: reason code 5`. */
  readonly message: string;
  /** Set when the packet was skipped and decoding goes on: the only CodecError after which the decoder works. */
  readonly skipped: SkippedPublish | undefined;
  constructor(code: CodecErrorCode, message: string, skipped?: SkippedPublish) {
    this.code = code;
    this.message = message;
    this.skipped = skipped;
  }
}

/** Room before the body for the largest fixed header (1 byte + a 4-byte remaining length). */
const HEADROOM = 5;
const VARINT_MAX = 268435455;
/** The protocol name of a CONNECT with its length prefix: 0, 4, "MQTT". */
const PROTOCOL_NAME = Object.freeze([0, 4, 0x4d, 0x51, 0x54, 0x54]);
// Shared message parts: one string each in the bytecode.
const TOO_SHORT = "shorter than its contents";
const BAD_STRING = "a string with a surrogate or U+0000";
/** What the encoder refuses: more than the decoder (see utf8.ts). */
const REFUSED_STRING = "a string brokers refuse: a control character, non-character or lone surrogate";
const NO_FILTER = "no topic filter";
const NO_REASON = "no reason code";

function error(code: CodecErrorCode, type: number, detail: string): CodecError {
  return new CodecError(code, `${PACKET_NAMES[type] ?? PACKET_NAMES[0]}: ${detail}`);
}

/** Bytes of a Variable Byte Integer (the remaining length, property lengths). */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

function validQos(qos: number): qos is QoS {
  return qos === 0 || qos === 1 || qos === 2;
}

function wildcard(topic: string): boolean {
  return topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0;
}

/** Whether a properties object holds any value ({} and all-undefined count as none). */
function hasProperties(props: Properties | undefined): boolean {
  if (props !== undefined) for (const key in props) if (props[key as keyof Properties] !== undefined) return true;
  return false;
}

function fixedFlags(type: number): number {
  return type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0;
}

/** Adds the properties to a decoded packet when there are any, so that absent fields stay absent. */
function withProperties<T extends object>(packet: T, properties: Properties | undefined): T {
  if (properties !== undefined) (packet as { properties?: Properties }).properties = properties;
  return packet;
}

export class Encoder {
  private buf: Uint8Array;
  private pos = 0;
  private type = 0;
  private error: CodecError | undefined;
  /** Largest packet allowed; the buffer may grow to it after HEADROOM. */
  private readonly max: number;
  /**
   * The topic whose bytes (length first) the buffer holds at HEADROOM, where the last PUBLISH wrote them, and their
   * count: a PUBLISH to the same topic leaves them there. A device publishes to the same few topics, and XS reads a
   * string's characters by scanning it, so encoding one again costs more than the rest of the packet. The count is
   * kept rather than read back from the buffer, which costs a message about 20 computrons.
   */
  private written = "";
  private writtenBytes = 0;

  constructor(initialCapacity: number, maxPacketSize: number) {
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.buf = new Uint8Array(Math.min(Math.max(initialCapacity, 16), this.max + HEADROOM));
  }

  /**
   * Writes the packet into the encoder's own buffer and returns a view of it, valid until the next encode. The
   * buffer grows (rarely, by doubling) up to maxPacketSize; larger packets give CodecError packet_too_large.
   * Invalid packets give a CodecError, never an exception. A CONNECT is encoded per its own protocolVersion.
   */
  encode(packet: Packet, version: ProtocolVersion): Uint8Array | CodecError {
    const type = packet.type;
    this.pos = HEADROOM;
    this.type = type;
    this.error = undefined;
    // Any other packet writes over those bytes.
    if (type !== PUBLISH) this.written = "";
    return this.end(this.body(packet, version));
  }

  /**
   * A QoS 0 PUBLISH without properties, from its parts, as `encode` would write it: the message a device sends most,
   * with no packet object to make and nothing to check that its parts cannot get wrong.
   */
  encodePublish0(
    topic: string,
    payload: Uint8Array,
    retain: boolean,
    version: ProtocolVersion,
  ): Uint8Array | CodecError {
    this.pos = HEADROOM;
    this.type = PUBLISH;
    this.error = undefined;
    if (topic === this.written && topic !== "") this.pos += this.writtenBytes;
    else this.topic(topic, false);
    // 5.0's empty property block: its length, 0.
    if (version === 5) this.uint(0, 1);
    // raw(), in line: this runs for every message, and a call costs as much as the copy of a small payload.
    if (this.pos + payload.length <= this.buf.length || this.room(payload.length)) {
      this.buf.set(payload, this.pos);
      this.pos += payload.length;
    }
    return this.end(retain ? 0x31 : 0x30);
  }

  /** Puts the fixed header (`first`, its first byte) before the body written; the packet, or the first error. */
  private end(first: number): Uint8Array | CodecError {
    const pos = this.pos;
    const length = pos - HEADROOM;
    // A remaining length of one byte, the common case, is written here.
    const short = length < 0x80;
    const start = short ? HEADROOM - 2 : HEADROOM - 1 - varintSize(length);
    if (pos - start > this.max) this.fail("packet_too_large", `${pos - start} bytes`);
    if (this.error !== undefined) return this.error;
    const buf = this.buf;
    buf[start] = first;
    if (short) buf[start + 1] = length;
    else writeVarint(buf, start + 1, length);
    return buf.subarray(start, pos);
  }

  private fail(code: CodecErrorCode, detail: string): void {
    if (this.error === undefined) this.error = error(code, this.type, detail);
  }

  /** Makes room for n more bytes; false (and packet_too_large) past the limit. */
  private room(n: number): boolean {
    const need = this.pos + n;
    if (need <= this.buf.length) return true;
    if (need > this.max + HEADROOM) {
      this.fail("packet_too_large", `more than ${this.max} bytes`);
      return false;
    }
    const grown = new Uint8Array(Math.min(Math.max(need, this.buf.length * 2), this.max + HEADROOM));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    return true;
  }

  /** An unsigned big-endian integer of `size` bytes (1, 2 or 4). */
  private uint(n: number, size: number): void {
    if (!this.room(size)) return;
    for (let shift = size * 8 - 8; shift >= 0; shift -= 8) this.buf[this.pos++] = (n >>> shift) & 0xff;
  }

  private varint(n: number): void {
    if (this.room(4)) this.pos = writeVarint(this.buf, this.pos, n);
  }

  private raw(bytes: Uint8Array): void {
    if (this.pos + bytes.length > this.buf.length && !this.room(bytes.length)) return;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private str(s: string): void {
    // Three bytes per code unit is always enough; measure exactly only when that bound would hit the limit.
    let bytes = s.length * 3;
    if (this.pos + 2 + bytes > this.max + HEADROOM) bytes = utf8Length(s);
    const at = this.pos;
    const end = bytes < 0 || !this.room(2 + bytes) ? -1 : writeUtf8(s, this.buf, at + 2);
    if (end < 0) this.fail("bad_utf8", REFUSED_STRING);
    else if (end - at - 2 > 0xffff) this.fail("malformed_packet", "a string over 65535 bytes");
    else {
      this.buf[at] = (end - at - 2) >> 8;
      this.buf[at + 1] = (end - at - 2) & 0xff;
      this.pos = end;
    }
  }

  private bin(bytes: Uint8Array): void {
    if (bytes.length > 0xffff) this.fail("malformed_packet", "binary data over 65535 bytes");
    this.uint(bytes.length, 2);
    this.raw(bytes);
  }

  private packetId(id: number | undefined): void {
    if (id !== undefined && Number.isInteger(id) && id > 0 && id <= 0xffff) this.uint(id, 2);
    else this.fail("bad_packet_id", `packet identifier ${id}`);
  }

  private reason(code: number, version: ProtocolVersion): void {
    if (!validReason(code, this.type, version)) this.fail("protocol_error", `reason code ${code}`);
  }

  /** A topic name; empty is allowed where a topic alias stands for it. */
  private topic(name: string, emptyOk: boolean): void {
    const at = this.pos;
    this.written = "";
    if (wildcard(name) || (name === "" && !emptyOk)) this.fail("bad_topic", `topic name "${name}"`);
    this.str(name);
    if (at === HEADROOM && this.error === undefined) {
      this.written = name;
      this.writtenBytes = this.pos - at;
    }
  }

  /** Properties (5.0; `type` is WILL for Will Properties), or none (3.1.1, which refuses any rather than drop them). */
  private properties(props: Properties | undefined, type: number, version: ProtocolVersion): void {
    if (version === 4) {
      if (hasProperties(props)) this.fail("protocol_error", "properties need MQTT 5.0");
      return;
    }
    const at = this.pos;
    if (!this.room(1)) return;
    // One byte is reserved for the length; the rare block of 128 bytes or more is moved up to make room.
    this.pos++;
    for (const key in props) {
      const value = props[key as keyof Properties];
      if (value !== undefined) this.property(key, value, type);
    }
    const length = this.pos - at - 1;
    const extra = varintSize(length) - 1;
    if (extra > 0) {
      if (!this.room(extra)) return;
      this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
      this.pos += extra;
    }
    writeVarint(this.buf, at, length);
  }

  private property(key: string, value: NonNullable<Properties[keyof Properties]>, type: number): void {
    const info = propertyByName(key);
    if (info === undefined || !propertyAllowed(info, type)) {
      this.fail("bad_property", `${key} not allowed`);
      return;
    }
    const t = info.type;
    // Every value is written as an array of values: a pair, a list of subscription identifiers, or one value.
    const values = t === STRING_PAIR ? (value as [string, string][]) : Array.isArray(value) ? value : [value];
    if (values.length > 1 && !propertyRepeats(info, type)) this.fail("duplicate_property", `${key} repeated`);
    for (const v of values) {
      this.uint(info.id, 1);
      if (t === STRING_PAIR) {
        this.str((v as [string, string])[0]);
        this.str((v as [string, string])[1]);
      } else if (t === STRING) this.str(v as string);
      else if (t === BINARY) this.bin(v as Uint8Array);
      else if (!propertyValueValid(info, v as number)) this.fail("bad_property", `${key} = ${v}`);
      else if (t === VARIABLE) this.varint(v as number);
      else this.uint(v as number, t);
    }
  }

  /** Writes everything after the fixed header and returns the fixed header's first byte. */
  private body(packet: Packet, version: ProtocolVersion): number {
    const type = packet.type;
    switch (packet.type) {
      // PUBLISH first: the switch compares case by case, and it is the packet sent most.
      case PUBLISH: {
        const qos = packet.qos;
        if (qos !== 0 && !validQos(qos)) this.fail("bad_qos", `QoS ${qos}`);
        if (packet.dup && qos === 0) this.fail("protocol_error", "DUP at QoS 0");
        const properties = packet.properties;
        const topic = packet.topic;
        // The same topic as the last PUBLISH's: its bytes are in place (see `written`).
        if (topic === this.written && topic !== "") this.pos += this.writtenBytes;
        else this.topic(topic, version === 5 && properties?.topicAlias !== undefined);
        if (qos > 0) this.packetId(packet.packetId);
        // 3.1.1 has none to write, and refuses any.
        if (version === 5 || properties !== undefined) this.properties(properties, type, version);
        this.raw(packet.payload);
        return 0x30 | (packet.dup ? 8 : 0) | ((qos & 3) << 1) | (packet.retain ? 1 : 0);
      }
      case CONNECT: {
        const v = packet.protocolVersion;
        if (v !== 4 && v !== 5) this.fail("unsupported_protocol_version", `protocol level ${v}`);
        const will = packet.will;
        let flags = packet.cleanStart ? 2 : 0;
        if (will !== undefined) {
          if (!validQos(will.qos)) this.fail("bad_qos", `will QoS ${will.qos}`);
          flags |= 4 | (will.qos << 3) | (will.retain ? 0x20 : 0);
        }
        if (packet.username !== undefined) flags |= 0x80;
        if (packet.password !== undefined) {
          if (v === 4 && packet.username === undefined) this.fail("protocol_error", "password without user name");
          flags |= 0x40;
        }
        const keepAlive = packet.keepAlive;
        if (!(Number.isInteger(keepAlive) && keepAlive >= 0 && keepAlive <= 0xffff))
          this.fail("protocol_error", `keep alive ${keepAlive}`);
        for (const b of PROTOCOL_NAME) this.uint(b, 1);
        this.uint(v, 1);
        this.uint(flags, 1);
        this.uint(keepAlive, 2);
        this.properties(packet.properties, type, v);
        this.str(packet.clientId);
        if (will !== undefined) {
          this.properties(will.properties, WILL, v);
          this.topic(will.topic, false);
          this.bin(will.payload);
        }
        if (packet.username !== undefined) this.str(packet.username);
        if (packet.password !== undefined) this.bin(packet.password);
        return 0x10;
      }
      case CONNACK:
        this.reason(packet.reasonCode, version);
        if (packet.sessionPresent && packet.reasonCode !== 0) this.fail("protocol_error", "session present, refused");
        this.uint(packet.sessionPresent ? 1 : 0, 1);
        this.uint(packet.reasonCode, 1);
        this.properties(packet.properties, type, version);
        return 0x20;
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
        this.packetId(packet.packetId);
        this.shortReason(packet.reasonCode, packet.properties, version);
        return (type << 4) | fixedFlags(type);
      case SUBSCRIBE:
        this.packetId(packet.packetId);
        this.properties(packet.properties, type, version);
        if (packet.subscriptions.length === 0) this.fail("protocol_error", NO_FILTER);
        for (const s of packet.subscriptions) this.subscription(s, version);
        return 0x82;
      case SUBACK:
      case UNSUBACK: {
        this.packetId(packet.packetId);
        this.properties(packet.properties, type, version);
        const codes = packet.reasonCodes;
        // A 3.1.1 UNSUBACK is the packet identifier alone.
        if (version === 4 && type === UNSUBACK) {
          if (codes.length > 0) this.fail("protocol_error", "reason codes need MQTT 5.0");
        } else if (codes.length === 0) this.fail("protocol_error", NO_REASON);
        for (const code of codes) {
          this.reason(code, version);
          this.uint(code, 1);
        }
        return type << 4;
      }
      case UNSUBSCRIBE:
        this.packetId(packet.packetId);
        this.properties(packet.properties, type, version);
        if (packet.topicFilters.length === 0) this.fail("protocol_error", NO_FILTER);
        for (const filter of packet.topicFilters) {
          if (!validTopicFilter(filter)) this.fail("bad_topic", `topic filter "${filter}"`);
          this.str(filter);
        }
        return 0xa2;
      case PINGREQ:
      case PINGRESP:
        return type << 4;
      case AUTH:
        if (version === 4) this.fail("bad_packet_type", "needs MQTT 5.0");
        this.shortReason(packet.reasonCode, packet.properties, version);
        return 0xf0;
      case DISCONNECT:
        this.shortReason(packet.reasonCode, packet.properties, version);
        return 0xe0;
      default:
        this.fail("bad_packet_type", `type ${type}`);
        return 0;
    }
  }

  /**
   * The reason code and properties of an ack, DISCONNECT or AUTH in the shortest form the spec allows: nothing for
   * success without properties, the code alone without properties (except AUTH, which has no such form).
   */
  private shortReason(code: number, props: Properties | undefined, version: ProtocolVersion): void {
    this.reason(code, version);
    const withProperties = hasProperties(props);
    if (version === 4) this.properties(props, this.type, version);
    else if (code !== 0 || withProperties) {
      this.uint(code, 1);
      if (withProperties || this.type === AUTH) this.properties(props, this.type, version);
    }
  }

  private subscription(s: Subscription, version: ProtocolVersion): void {
    if (!validTopicFilter(s.topicFilter)) this.fail("bad_topic", `topic filter "${s.topicFilter}"`);
    if (!validQos(s.qos)) this.fail("bad_qos", `subscription QoS ${s.qos}`);
    const handling = s.retainHandling ?? 0;
    const options = (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (handling << 4);
    if (version === 4 && options !== 0) this.fail("protocol_error", "subscription options need MQTT 5.0");
    if (handling !== 0 && handling !== 1 && handling !== 2) this.fail("protocol_error", `retain handling ${handling}`);
    this.str(s.topicFilter);
    this.uint((s.qos & 3) | (options & 0x3c), 1);
  }
}

/** Outcome of reading a fixed header: need more bytes, or the decoder has failed (see `failed`). */
const MORE = 0;
const FAILED = -1;
/** frame(): a PUBLISH too large to take, to be skipped (3.1.1). */
const SKIP = -2;
/** Bytes of a skipped PUBLISH's topic kept to name it. */
const TOPIC_KEPT = 64;
/** What the decoder's `buf` is between packets: no reference to anybody's bytes (frozen: shared, in flash). */
const NO_BYTES = Object.freeze(new Uint8Array(0)) as Uint8Array;
/** First size of the buffer that gathers a packet arriving in pieces; it grows only for a larger one. */
const GATHER = 128;
/** PUBLISH size above which payloads are views of one copy of the pushed bytes rather than copies of their own. */
const SHARE = 96;

/**
 * A PUBLISH being skipped: body bytes still to discard, body bytes seen, its QoS and size, its topic length, the
 * start of its topic (`head`) and its packet identifier as they stream past. Nothing else of it is kept.
 */
interface Skipping {
  left: number;
  at: number;
  qos: QoS;
  size: number;
  topic: number;
  id: number;
  /** Its notice (see SkippedPublish.done) was given. */
  named: boolean;
  head: Uint8Array;
}

/** A PUBLISH whose header is decoded while its payload, allocated whole, is still arriving. */
interface Pending {
  packet: Publish;
  /** Its encoded size. */
  size: number;
  /** Payload bytes still to come: the end of the payload. */
  left: number;
}

export class Decoder {
  /** Set after CONNECT/CONNACK negotiation; a CONNECT is decoded per its own protocol level. */
  version: ProtocolVersion;
  /** The encoded size (fixed header included) of the packet next() returned last, for packet traces. */
  length = 0;
  private readonly max: number;
  /**
   * The start of a packet that arrived in pieces, own[0..have): never more than one packet. Made when the first one
   * does: a connection whose packets each arrive whole holds none.
   */
  private own: Uint8Array | undefined;
  private have = 0;
  /** Pushed bytes not read yet, src[at..end): the caller's array read in place, or `spill`. */
  private src: Uint8Array | undefined;
  private at = 0;
  private end = 0;
  /** Our copy of pushed bytes, made only when a push comes before the previous bytes were read. */
  private spill: Uint8Array | undefined;
  /** Made when a PUBLISH's payload is still to come, dropped once it has come. */
  private pending: Pending | undefined;
  /**
   * The first error of the packet being decoded and, once next() returns it, the decoder's: it stays failed. A
   * PUBLISH decoded while part of its header may be still to come can have one that is none yet: next() clears it.
   */
  private failed: CodecError | undefined;
  /** The PUBLISH being skipped, while one is: state a decoder holds only then (it lives as long as a connection). */
  private skip: Skipping | undefined;
  /** The last valid ASCII topic a PUBLISH had (see topicName). */
  private lastTopic = "";
  // The packet being decoded: its bytes, read position (where its body starts once frame() has read its fixed
  // header), end of the bytes at hand, end of the packet and its type.
  private buf: Uint8Array;
  private pos = 0;
  private lim = 0;
  private stop = 0;
  private type = 0;

  constructor(version: ProtocolVersion, maxPacketSize: number) {
    this.version = version;
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.buf = NO_BYTES;
  }

  /** Bytes of the buffer that gathers packets arriving in pieces (0 before the first); never over maxPacketSize + 5. */
  get capacity(): number {
    return this.own?.length ?? 0;
  }

  /**
   * Takes bytes in any chunking. They are read in place: leave them unchanged until next() has returned
   * undefined or a CodecError, or until the next push, which copies what is left of them.
   */
  push(bytes: Uint8Array): void {
    if (this.failed !== undefined || bytes.length === 0) return;
    if (this.at === this.end) {
      this.src = bytes;
      this.at = 0;
      this.end = bytes.length;
      return;
    }
    // Appends to the spill, growing it by doubling so that many pushes without reads stay linear.
    const held = this.end - this.at;
    let spill = this.spill;
    if (spill === undefined || spill !== this.src || this.end + bytes.length > spill.length) {
      const grown = new Uint8Array(Math.max(held + bytes.length, 2 * (spill?.length ?? 0)));
      grown.set(this.src!.subarray(this.at, this.end));
      this.src = this.spill = spill = grown;
      this.at = 0;
      this.end = held;
    }
    spill.set(bytes, this.end);
    this.end += bytes.length;
  }

  /**
   * The next whole packet, a CodecError (after which the decoder stays failed: the connection must close), or
   * undefined when more bytes are needed. The maximum packet size is enforced from the fixed header alone, before
   * anything is allocated for the body. In 3.1.1, which cannot tell the broker our maximum, a PUBLISH over it is
   * skipped instead: its bytes are discarded as they arrive, and a CodecError with `skipped` set (its topic, QoS
   * and packet identifier, so that it can be acknowledged) is returned once it has passed; decoding goes on.
   */
  next(): Packet | CodecError | undefined {
    // Each turn returns, or moves at least one pushed byte into `own` or a payload, so this ends.
    for (;;) {
      if (this.failed !== undefined) return this.failed;
      if (this.skip !== undefined) {
        const skip = this.skip;
        const n = this.take(skip.left);
        if (n < 0) return undefined;
        this.skipHeader(skip, this.src!, this.at - n, this.at);
        skip.left -= n;
        if (skip.left === 0) return this.skipped(skip, true);
        if (!skip.named && skip.at >= 2 + skip.topic + (skip.qos > 0 ? 2 : 0)) {
          skip.named = true;
          return this.skipped(skip, false);
        }
        continue;
      }
      const pending = this.pending;
      if (pending !== undefined) {
        const payload = pending.packet.payload;
        const n = this.take(pending.left);
        if (n < 0) return undefined;
        payload.set(this.src!.subarray(this.at - n, this.at), payload.length - pending.left);
        pending.left -= n;
        if (pending.left > 0) continue;
        this.pending = undefined;
        this.length = pending.size;
        return pending.packet;
      }
      const gathered = this.have > 0;
      if (!gathered && this.at === this.end) {
        // All pushed bytes are read: release them.
        this.src = this.spill = undefined;
        return undefined;
      }
      const buf = gathered ? this.own! : this.src!;
      const from = gathered ? 0 : this.at;
      const to = gathered ? this.have : this.end;
      const total = this.frame(buf, from, to);
      // A whole packet at hand, the common case, first (MORE, FAILED and SKIP are not lengths).
      if (total > 0 && total <= to - from) {
        // A PUBLISH large enough to be worth an allocation of its own: copy the rest of the caller's bytes once
        // instead, and hand out payloads that are views of that copy.
        if (!gathered && this.type === PUBLISH && total > SHARE && this.src !== this.spill) {
          this.src = this.spill = copyOf(this.src!, from, to);
          this.at = 0;
          this.end = to - from;
          continue;
        }
        const packet = this.decode(buf, from, from + total, from + total);
        if (gathered) this.have = 0;
        else this.at += total;
        this.length = total;
        return this.failed ?? packet;
      }
      if (total === FAILED) return this.failed;
      if (total === SKIP) {
        // `own` holds exactly the fixed header when gathered: its bytes are taken one at a time until it is whole.
        if (gathered) this.have = 0;
        else this.at = this.pos;
        if (this.skip!.left === 0) return this.skipped(this.skip!, true);
        continue;
      }
      // A PUBLISH whose header is here (its topic and two bytes more, at least): its payload is allocated whole and
      // the bytes that follow go straight there.
      const body = this.pos;
      if (total !== MORE && this.type === PUBLISH && body + 4 + ((buf[body] << 8) | buf[body + 1]) < to) {
        const packet = this.decode(buf, from, to, from + total) as Publish;
        if (this.failed === undefined) {
          this.pending = { packet, size: total, left: from + total - to };
          if (gathered) this.have = 0;
          else this.at = to;
          continue;
        }
        // Part of its header may be still to come (5.0's properties): the error may be none. Decoded whole, it tells.
        this.failed = undefined;
      }
      // Otherwise gather the packet in `own`, a byte at a time while its length is unknown.
      const have = this.have;
      let own = this.own;
      if (own === undefined || have === own.length) {
        const grown = new Uint8Array(
          own === undefined ? Math.min(this.max + HEADROOM, GATHER) : Math.min(2 * have, total),
        );
        if (own !== undefined) grown.set(own);
        this.own = own = grown;
      }
      const n = this.take(Math.min(total === MORE ? 1 : total - have, own.length - have));
      if (n <= 0) return undefined;
      own.set(this.src!.subarray(this.at - n, this.at), have);
      this.have += n;
    }
  }

  /**
   * Takes up to `n` pushed bytes, src[at - taken..at) once it returns; -1 (and the pushed bytes released) when
   * there are none.
   */
  private take(n: number): number {
    const taken = Math.min(n, this.end - this.at);
    if (taken <= 0 && this.at === this.end) {
      this.src = this.spill = undefined;
      return -1;
    }
    this.at += taken;
    return taken;
  }

  /** Reads what a skipped PUBLISH's topic length, topic start and packet identifier hold among buf[from..to). */
  private skipHeader(skip: Skipping, buf: Uint8Array, from: number, to: number): void {
    const idLength = skip.qos > 0 ? 2 : 0;
    let i = from;
    while (i < to) {
      const at = skip.at;
      const idAt = 2 + skip.topic;
      if (at >= 2 && at >= idAt + idLength) break;
      const b = buf[i++];
      skip.at++;
      if (at < 2) skip.topic = skip.topic * 256 + b;
      else if (at < idAt) {
        if (at - 2 < TOPIC_KEPT) skip.head[at - 2] = b;
      } else skip.id = skip.id * 256 + b;
    }
    skip.at += to - i;
  }

  private skipped(skip: Skipping, done: boolean): CodecError {
    if (done) this.skip = undefined;
    const kept = Math.min(skip.topic, TOPIC_KEPT, Math.max(0, skip.at - 2));
    let topic: string | undefined;
    // A topic cut short may end inside a character: leave that character out.
    for (let n = kept; topic === undefined && n >= 0 && n > kept - 4; n--) topic = readUtf8(skip.head, 0, n);
    const name = (topic ?? "?") + (skip.topic > kept ? "..." : "");
    const skipped = { topic: name, qos: skip.qos, packetId: skip.id, size: skip.size, done };
    this.length = skip.size;
    const what = done ? "skipped" : "being skipped";
    return new CodecError("packet_too_large", `PUBLISH: ${skip.size} bytes ${what}`, skipped);
  }

  private stopWith(code: CodecErrorCode, detail: string): number {
    this.failed = error(code, this.type, detail);
    return FAILED;
  }

  /**
   * Checks the fixed header at buf[from] and returns the packet's total length, MORE, or FAILED. The first byte is
   * checked as soon as it arrives and the size as soon as the remaining length is complete; `pos` is then where the
   * body starts.
   */
  private frame(buf: Uint8Array, from: number, to: number): number {
    const b = buf[from];
    const type = b >> 4;
    this.type = type;
    // PUBLISH first: it is the packet received most.
    if (type === PUBLISH) {
      if ((b & 6) === 6) return this.stopWith("bad_qos", "QoS 3");
      if ((b & 14) === 8) return this.stopWith("protocol_error", "DUP at QoS 0");
    } else if (type === 0 || (type === AUTH && this.version === 4)) return this.stopWith("bad_packet_type", "bad type");
    else if ((b & 15) !== fixedFlags(type)) return this.stopWith("reserved_flags", `flags ${b & 15}`);
    let length = 0;
    let scale = 1;
    let at = from + 1;
    for (;;) {
      if (at >= to) return MORE;
      const d = buf[at++];
      length += (d & 0x7f) * scale;
      if (d < 0x80) break;
      if (at - from > 4) return this.stopWith("malformed_length", "remaining length over 4 bytes");
      scale *= 128;
    }
    const total = at - from + length;
    this.pos = at;
    if (total <= this.max) return total;
    if (type !== PUBLISH || this.version !== 4) return this.stopWith("packet_too_large", `${total} bytes`);
    const qos = ((b >> 1) & 3) as QoS;
    this.skip = {
      left: length,
      at: 0,
      qos,
      size: total,
      topic: 0,
      id: 0,
      named: false,
      head: new Uint8Array(TOPIC_KEPT),
    };
    return SKIP;
  }

  /**
   * Decodes the packet framed at buf[from], which ends at `stop`, from the bytes at hand up to `lim`; errors land in
   * `failed`. With `lim` short of `stop`, only a PUBLISH whose header is all here decodes without error.
   */
  private decode(buf: Uint8Array, from: number, lim: number, stop: number): Packet {
    this.buf = buf;
    this.lim = lim;
    this.stop = stop;
    const first = buf[from];
    const packet = this.packet(first >> 4, first & 15);
    if (this.pos !== lim) this.fail("malformed_packet", "remaining length does not match its contents");
    // Keep no reference to the caller's bytes.
    this.buf = NO_BYTES;
    return packet;
  }

  private fail(code: CodecErrorCode, detail: string): void {
    if (this.failed === undefined) this.failed = error(code, this.type, detail);
    // Reads after an error see an empty packet, so every loop ends.
    this.pos = this.lim;
  }

  /** An unsigned big-endian integer of `size` bytes. */
  private uint(size: number): number {
    if (this.pos + size > this.lim) {
      this.fail("malformed_packet", TOO_SHORT);
      return 0;
    }
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + this.buf[this.pos++];
    return n;
  }

  private varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      const d = this.uint(1);
      n += (d & 0x7f) * scale;
      if (d < 0x80) return n;
      scale *= 128;
    }
    this.fail("malformed_packet", "variable byte integer over 4 bytes");
    return 0;
  }

  /** Checks that a length-prefixed field fits and returns where it ends (the caller reads pos..end). */
  private field(): number {
    const buf = this.buf;
    const pos = this.pos;
    // Past the bytes at hand the reads give undefined, taken as 0: the end is then past them too.
    const end = pos + 2 + ((buf[pos] << 8) | buf[pos + 1]);
    if (end <= this.lim) {
      this.pos = pos + 2;
      return end;
    }
    this.fail("malformed_packet", TOO_SHORT);
    return this.pos;
  }

  /**
   * A PUBLISH's topic name, read as Latin-1 in one native call: XS builds a string faster than it loops over bytes.
   * The same bytes as the last topic's give the same string, and then the last one's checks stand; other bytes are
   * checked to be ASCII without NUL (their Latin-1 string is then their UTF-8 string), else read as UTF-8.
   */
  private topicName(): string {
    const start = this.pos + 2;
    const end = this.field();
    const buf = this.buf;
    const topic = latin1(buf, start, end);
    if (topic === this.lastTopic && topic !== "") {
      this.pos = end;
      return topic;
    }
    if (asciiEnd(buf, start, end) < end) {
      this.pos = start - 2;
      return this.str();
    }
    this.pos = end;
    if (!wildcard(topic)) this.lastTopic = topic;
    return topic;
  }

  private str(): string {
    const end = this.field();
    const s = readUtf8(this.buf, this.pos, end);
    this.pos = end;
    if (s === undefined) this.fail("bad_utf8", BAD_STRING);
    return s ?? "";
  }

  private bin(): Uint8Array {
    const end = this.field();
    const bytes = copyOf(this.buf, this.pos, end);
    this.pos = end;
    return bytes;
  }

  private packetId(): number {
    const id = this.uint(2);
    if (id === 0) this.fail("bad_packet_id", "packet identifier 0");
    return id;
  }

  private reason(code: number): void {
    if (!validReason(code, this.type, this.version)) this.fail("protocol_error", `reason code ${code}`);
  }

  /** The reason code of an ack, DISCONNECT or AUTH: 0 in 3.1.1 and in the short form without it. */
  private optionalReason(): number {
    return this.version === 5 && this.pos < this.lim ? this.uint(1) : 0;
  }

  /** Property length and properties; undefined when there are none. `type` is WILL for Will Properties. */
  private properties(type: number): Properties | undefined {
    const length = this.varint();
    const stop = this.pos + length;
    if (stop > this.lim) this.fail("malformed_packet", TOO_SHORT);
    if (length === 0 || this.failed !== undefined) return undefined;
    const props: Properties = {};
    const values = props as Record<string, unknown[] | unknown>;
    while (this.pos < stop) {
      const id = this.varint();
      const info = propertyById(id);
      if (info === undefined || !propertyAllowed(info, type)) {
        this.fail("bad_property", `property ${id}`);
        break;
      }
      const name = info.name;
      const t = info.type;
      const old = values[name];
      if (old !== undefined && !propertyRepeats(info, type)) {
        this.fail("duplicate_property", `${name} repeated`);
        break;
      }
      let value: unknown;
      if (t === STRING_PAIR) value = [this.str(), this.str()];
      else if (t === STRING) value = this.str();
      else if (t === BINARY) value = this.bin();
      else {
        const n = t === VARIABLE ? this.varint() : this.uint(t);
        if (!propertyValueValid(info, n)) this.fail("bad_property", `${name} = ${n}`);
        value = n;
      }
      // User properties and subscription identifiers are lists; every other property is one value.
      if (t === STRING_PAIR || id === 0x0b) {
        if (old === undefined) values[name] = [value];
        else (old as unknown[]).push(value);
      } else values[name] = value;
    }
    if (this.pos !== stop) this.fail("malformed_packet", "a property crosses the property length");
    return props;
  }

  /** Properties in 5.0 when the packet has bytes left for them (the short forms of acks and DISCONNECT). */
  private optionalProperties(type: number): Properties | undefined {
    return this.version === 5 && this.pos < this.lim ? this.properties(type) : undefined;
  }

  /**
   * A PUBLISH payload: everything after the header. A view when it lies in our copy of pushed bytes (which is never
   * written again), else a copy, allocated whole even when only part of it is at hand.
   */
  private payload(): Uint8Array {
    const buf = this.buf;
    const pos = this.pos;
    const lim = this.lim;
    this.pos = lim;
    if (lim < this.stop && this.failed === undefined) {
      const payload = new Uint8Array(this.stop - pos);
      payload.set(buf.subarray(pos, lim));
      return payload;
    }
    return buf === this.spill ? buf.subarray(pos, lim) : copyOf(buf, pos, lim);
  }

  private packet(type: number, flags: number): Packet {
    const v5 = this.version === 5;
    switch (type) {
      // PUBLISH first: the switch compares case by case, and it is the packet received most.
      case PUBLISH: {
        const qos = ((flags >> 1) & 3) as QoS;
        const topic = this.topicName();
        const packetId = qos > 0 ? this.packetId() : undefined;
        const properties = v5 ? this.properties(type) : undefined;
        // The last topic kept was checked when it was read (see topicName).
        if (topic === "" ? properties?.topicAlias === undefined : topic !== this.lastTopic && wildcard(topic))
          this.fail("bad_topic", `topic name "${topic}"`);
        const packet: Publish = {
          type,
          topic,
          payload: this.payload(),
          qos,
          retain: (flags & 1) === 1,
          dup: (flags & 8) === 8,
        };
        if (packetId !== undefined) packet.packetId = packetId;
        if (properties !== undefined) packet.properties = properties;
        return packet;
      }
      case CONNECT:
        return this.connect();
      case CONNACK: {
        const twoBytes = this.lim - this.pos === 2;
        const ack = this.uint(1);
        const reasonCode = this.uint(1);
        if (ack & 0xfe) this.fail("reserved_flags", `flags ${ack}`);
        const properties = this.optionalProperties(type);
        // A 3.1.1 broker refuses a 5.0 CONNECT with a 3.1.1 CONNACK (no properties, return code 1): let it through
        // so that the client can tell why and fall back.
        if (!(v5 && properties === undefined && twoBytes && reasonCode <= 5)) this.reason(reasonCode);
        if (ack && reasonCode !== 0) this.fail("protocol_error", "session present, refused");
        return withProperties({ type, sessionPresent: ack === 1, reasonCode }, properties);
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP: {
        const packetId = this.packetId();
        const reasonCode = this.optionalReason();
        const properties = this.optionalProperties(type);
        this.reason(reasonCode);
        return withProperties({ type, packetId, reasonCode }, properties);
      }
      case SUBSCRIBE:
      case UNSUBSCRIBE: {
        const packetId = this.packetId();
        const properties = v5 ? this.properties(type) : undefined;
        const list: (Subscription | string)[] = [];
        while (this.pos < this.lim)
          list.push(type === SUBSCRIBE ? this.subscription(v5) : this.checkFilter(this.str()));
        if (list.length === 0) this.fail("protocol_error", NO_FILTER);
        return withProperties(
          type === SUBSCRIBE
            ? { type, packetId, subscriptions: list as Subscription[] }
            : { type, packetId, topicFilters: list as string[] },
          properties,
        );
      }
      case SUBACK:
      case UNSUBACK: {
        const packetId = this.packetId();
        const properties = v5 ? this.properties(type) : undefined;
        // A 3.1.1 UNSUBACK is the packet identifier alone: extra bytes are a length mismatch.
        const withCodes = v5 || type === SUBACK;
        const reasonCodes: number[] = [];
        while (withCodes && this.pos < this.lim) {
          const code = this.uint(1);
          this.reason(code);
          reasonCodes.push(code);
        }
        if (withCodes && reasonCodes.length === 0) this.fail("protocol_error", NO_REASON);
        return withProperties({ type, packetId, reasonCodes }, properties);
      }
      case PINGREQ:
      case PINGRESP:
        return { type };
      default: {
        // DISCONNECT and AUTH (frame() refused AUTH in 3.1.1).
        const t = type as typeof DISCONNECT | typeof AUTH;
        const reasonCode = this.optionalReason();
        const properties = this.optionalProperties(t);
        this.reason(reasonCode);
        return withProperties({ type: t, reasonCode }, properties);
      }
    }
  }

  private checkFilter(filter: string): string {
    if (!validTopicFilter(filter)) this.fail("bad_topic", `topic filter "${filter}"`);
    return filter;
  }

  private subscription(v5: boolean): Subscription {
    const topicFilter = this.str();
    const options = this.uint(1);
    const qos = (options & 3) as QoS;
    const handling = (options >> 4) & 3;
    if (options & (v5 ? 0xc0 : 0xfc)) this.fail("reserved_flags", `subscription options ${options}`);
    if (!validQos(qos)) this.fail("bad_qos", "subscription QoS 3");
    if (handling === 3) this.fail("protocol_error", "retain handling 3");
    this.checkFilter(topicFilter);
    return v5
      ? {
          topicFilter,
          qos,
          noLocal: (options & 4) !== 0,
          retainAsPublished: (options & 8) !== 0,
          retainHandling: handling,
        }
      : { topicFilter, qos };
  }

  private connect(): Packet {
    for (const b of PROTOCOL_NAME) if (this.uint(1) !== b) this.fail("protocol_error", "protocol name is not MQTT");
    const level = this.uint(1);
    if (level !== 4 && level !== 5) this.fail("unsupported_protocol_version", `protocol level ${level}`);
    const v = level === 5 ? 5 : 4;
    const flags = this.uint(1);
    if (flags & 1) this.fail("reserved_flags", "reserved flag");
    const keepAlive = this.uint(2);
    const properties = v === 5 ? this.properties(CONNECT) : undefined;
    const packet = withProperties<Connect>(
      { type: CONNECT, protocolVersion: v, clientId: this.str(), cleanStart: (flags & 2) !== 0, keepAlive },
      properties,
    );
    const qos = ((flags >> 3) & 3) as QoS;
    if (flags & 4) {
      const willProperties = v === 5 ? this.properties(WILL) : undefined;
      const topic = this.str();
      if (!validTopicName(topic)) this.fail("bad_topic", `will topic "${topic}"`);
      if (!validQos(qos)) this.fail("bad_qos", "will QoS 3");
      packet.will = withProperties({ topic, payload: this.bin(), qos, retain: (flags & 0x20) !== 0 }, willProperties);
    } else if (flags & 0x38) this.fail("malformed_packet", "will QoS or retain without a will");
    if (flags & 0x80) packet.username = this.str();
    if (flags & 0x40) {
      if (v === 4 && !(flags & 0x80)) this.fail("protocol_error", "password without user name");
      packet.password = this.bin();
    }
    return packet;
  }
}
