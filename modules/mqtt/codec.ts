// MQTT 3.1.1 and 5.0 packets to bytes and back. The encoder writes straight into one reusable buffer; the decoder
// buffers in place and reads with index arithmetic. Both report invalid input as a CodecError value: nothing here
// throws on bad bytes or bad packets.
import {
  AUTH,
  CONNACK,
  CONNECT,
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
  type QoS,
  SUBACK,
  SUBSCRIBE,
  type Subscription,
  UNSUBACK,
  UNSUBSCRIBE,
} from "tether/mqtt/packets";
import {
  BINARY,
  BYTE,
  FOUR_BYTE,
  type PropertyInfo,
  propertyAllowed,
  propertyById,
  propertyByName,
  propertyRepeats,
  propertyValueValid,
  STRING,
  STRING_PAIR,
  TWO_BYTE,
  WILL,
} from "tether/mqtt/properties";
import { validReason } from "tether/mqtt/reasons";
import { validTopicFilter, validTopicName } from "tether/mqtt/topic";
import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";

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

/** Why a packet could not be encoded or decoded. A value, never thrown. */
export class CodecError {
  readonly code: CodecErrorCode;
  readonly message: string;
  constructor(code: CodecErrorCode, message: string) {
    this.code = code;
    this.message = message;
  }
}

/** Room before the body for the largest fixed header (1 byte + a 4-byte remaining length). */
const HEADROOM = 5;
const VARINT_MAX = 268435455;
const NAMES = [
  "Will",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
];
/** The protocol name of a CONNECT with its length prefix: 0, 4, "MQTT". */
const PROTOCOL_NAME = [0, 4, 0x4d, 0x51, 0x54, 0x54];

function varintSize(n: number): number {
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

function validPacketId(id: number | undefined): boolean {
  return id !== undefined && Number.isInteger(id) && id > 0 && id <= 0xffff;
}

function validQos(qos: number): qos is QoS {
  return qos === 0 || qos === 1 || qos === 2;
}

/** Whether a properties object holds any value ({} and all-undefined count as none). */
function hasProperties(props: Properties | undefined): boolean {
  if (props !== undefined) for (const key in props) if (props[key as keyof Properties] !== undefined) return true;
  return false;
}

function fixedFlags(type: number): number {
  return type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0;
}

export class Encoder {
  private buf: Uint8Array;
  private pos = 0;
  private error: CodecError | undefined;
  /** Largest buffer allowed: a packet of maxPacketSize bytes written after HEADROOM. */
  private readonly limit: number;
  private readonly max: number;

  constructor(initialCapacity: number, maxPacketSize: number) {
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.limit = this.max + HEADROOM;
    this.buf = new Uint8Array(Math.min(Math.max(initialCapacity, 16), this.limit));
  }

  /**
   * Writes the packet into the encoder's own buffer and returns a view of it, valid until the next encode. The
   * buffer grows (rarely, by doubling) up to maxPacketSize; larger packets give CodecError packet_too_large.
   * Invalid packets give a CodecError, never an exception. A CONNECT is encoded per its own protocolVersion.
   */
  encode(packet: Packet, version: ProtocolVersion): Uint8Array | CodecError {
    this.pos = HEADROOM;
    this.error = undefined;
    const first = this.body(packet, version);
    if (this.error !== undefined) return this.error;
    const length = this.pos - HEADROOM;
    const start = HEADROOM - 1 - varintSize(length);
    if (this.pos - start > this.max) return new CodecError("packet_too_large", `${this.pos - start} bytes`);
    this.buf[start] = first;
    writeVarint(this.buf, start + 1, length);
    return this.buf.subarray(start, this.pos);
  }

  private fail(code: CodecErrorCode, message: string): void {
    if (this.error === undefined) this.error = new CodecError(code, message);
  }

  /** Makes room for n more bytes; false (and packet_too_large) past the limit. */
  private room(n: number): boolean {
    const need = this.pos + n;
    if (need <= this.buf.length) return true;
    if (need > this.limit) {
      this.fail("packet_too_large", `more than ${this.max} bytes`);
      return false;
    }
    const grown = new Uint8Array(Math.min(Math.max(need, this.buf.length * 2), this.limit));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    return true;
  }

  private u8(n: number): void {
    if (this.room(1)) this.buf[this.pos++] = n;
  }

  private u16(n: number): void {
    if (!this.room(2)) return;
    this.buf[this.pos++] = n >> 8;
    this.buf[this.pos++] = n & 0xff;
  }

  private u32(n: number): void {
    if (!this.room(4)) return;
    const buf = this.buf;
    buf[this.pos++] = n >>> 24;
    buf[this.pos++] = (n >> 16) & 0xff;
    buf[this.pos++] = (n >> 8) & 0xff;
    buf[this.pos++] = n & 0xff;
  }

  private varint(n: number): void {
    if (this.room(4)) this.pos = writeVarint(this.buf, this.pos, n);
  }

  private raw(bytes: Uint8Array): void {
    if (!this.room(bytes.length)) return;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private str(s: string): void {
    // Three bytes per code unit is always enough; measure exactly only when that bound would hit the limit.
    let bytes = s.length * 3;
    if (this.pos + 2 + bytes > this.limit) bytes = utf8Length(s);
    if (bytes < 0) {
      this.fail("bad_utf8", "a string with a lone surrogate or U+0000");
      return;
    }
    if (!this.room(2 + bytes)) return;
    const at = this.pos;
    const end = writeUtf8(s, this.buf, at + 2);
    if (end < 0) {
      this.fail("bad_utf8", "a string with a lone surrogate or U+0000");
      return;
    }
    const length = end - at - 2;
    if (length > 0xffff) {
      this.fail("malformed_packet", "a string longer than 65535 bytes");
      return;
    }
    this.buf[at] = length >> 8;
    this.buf[at + 1] = length & 0xff;
    this.pos = end;
  }

  private bin(bytes: Uint8Array): void {
    if (bytes.length > 0xffff) {
      this.fail("malformed_packet", "binary data longer than 65535 bytes");
      return;
    }
    this.u16(bytes.length);
    this.raw(bytes);
  }

  private packetId(id: number | undefined, type: number): void {
    if (validPacketId(id)) this.u16(id!);
    else this.fail("bad_packet_id", `${NAMES[type]} packet identifier ${id}`);
  }

  private reason(code: number, type: number, version: ProtocolVersion): void {
    if (!validReason(code, type, version)) this.fail("protocol_error", `${NAMES[type]} reason code ${code}`);
  }

  /** A topic name; empty is allowed where a topic alias stands for it. */
  private topic(name: string, emptyOk: boolean): void {
    if (name.indexOf("+") >= 0 || name.indexOf("#") >= 0 || (name === "" && !emptyOk))
      this.fail("bad_topic", `topic name "${name}"`);
    this.str(name);
  }

  /** The property length and properties of a 5.0 packet (type WILL for Will Properties). */
  private properties(props: Properties | undefined, type: number): void {
    const at = this.pos;
    if (!this.room(1)) return;
    // One byte is reserved for the length; the rare block of 128 bytes or more is moved up to make room.
    this.pos++;
    if (props !== undefined) {
      for (const key in props) {
        const value = props[key as keyof Properties];
        if (value !== undefined) this.property(key, value, type);
      }
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
      this.fail("bad_property", `${key} is not a property of ${NAMES[type]}`);
      return;
    }
    if (info.type === STRING_PAIR) {
      for (const [name, text] of value as [string, string][]) {
        this.u8(info.id);
        this.str(name);
        this.str(text);
      }
    } else if (info.type === STRING) {
      this.u8(info.id);
      this.str(value as string);
    } else if (info.type === BINARY) {
      this.u8(info.id);
      this.bin(value as Uint8Array);
    } else if (Array.isArray(value)) {
      if (value.length > 1 && !propertyRepeats(info, type)) {
        this.fail("duplicate_property", `${key} more than once in ${NAMES[type]}`);
        return;
      }
      for (const n of value as number[]) this.number(info, n);
    } else this.number(info, value as number);
  }

  private number(info: PropertyInfo, n: number): void {
    if (!propertyValueValid(info, n)) {
      this.fail("bad_property", `${info.name} = ${n}`);
      return;
    }
    this.u8(info.id);
    if (info.type === BYTE) this.u8(n);
    else if (info.type === TWO_BYTE) this.u16(n);
    else if (info.type === FOUR_BYTE) this.u32(n);
    else this.varint(n);
  }

  /** 3.1.1 has no properties: refuse any rather than drop them silently. */
  private noProperties(props: Properties | undefined, type: number): void {
    if (hasProperties(props)) this.fail("protocol_error", `${NAMES[type]} properties need MQTT 5.0`);
  }

  /** Properties (5.0) or none (3.1.1). */
  private propertiesFor(props: Properties | undefined, type: number, version: ProtocolVersion): void {
    if (version === 5) this.properties(props, type);
    else this.noProperties(props, type);
  }

  /** Writes everything after the fixed header and returns the fixed header's first byte. */
  private body(packet: Packet, version: ProtocolVersion): number {
    const type = packet.type;
    switch (packet.type) {
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
          if (v === 4 && packet.username === undefined) this.fail("protocol_error", "3.1.1 password without user name");
          flags |= 0x40;
        }
        if (!(Number.isInteger(packet.keepAlive) && packet.keepAlive >= 0 && packet.keepAlive <= 0xffff))
          this.fail("protocol_error", `keep alive ${packet.keepAlive}`);
        for (const b of PROTOCOL_NAME) this.u8(b);
        this.u8(v);
        this.u8(flags);
        this.u16(packet.keepAlive);
        this.propertiesFor(packet.properties, CONNECT, v);
        this.str(packet.clientId);
        if (will !== undefined) {
          this.propertiesFor(will.properties, WILL, v);
          this.topic(will.topic, false);
          this.bin(will.payload);
        }
        if (packet.username !== undefined) this.str(packet.username);
        if (packet.password !== undefined) this.bin(packet.password);
        return 0x10;
      }
      case CONNACK:
        this.reason(packet.reasonCode, type, version);
        if (packet.sessionPresent && packet.reasonCode !== 0)
          this.fail("protocol_error", "session present with a refusal");
        this.u8(packet.sessionPresent ? 1 : 0);
        this.u8(packet.reasonCode);
        this.propertiesFor(packet.properties, type, version);
        return 0x20;
      case PUBLISH: {
        const qos = packet.qos;
        if (!validQos(qos)) this.fail("bad_qos", `PUBLISH QoS ${qos}`);
        if (packet.dup && qos === 0) this.fail("protocol_error", "DUP set on a QoS 0 PUBLISH");
        this.topic(packet.topic, version === 5 && packet.properties?.topicAlias !== undefined);
        if (qos > 0) this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        this.raw(packet.payload);
        return 0x30 | (packet.dup ? 8 : 0) | ((qos & 3) << 1) | (packet.retain ? 1 : 0);
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
        this.packetId(packet.packetId, type);
        this.reason(packet.reasonCode, type, version);
        this.shortReason(packet.reasonCode, packet.properties, type, version);
        return (type << 4) | fixedFlags(type);
      case SUBSCRIBE:
        this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        if (packet.subscriptions.length === 0) this.fail("protocol_error", "SUBSCRIBE without a topic filter");
        for (const s of packet.subscriptions) this.subscription(s, version);
        return 0x82;
      case SUBACK:
      case UNSUBACK:
        this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        if (version === 4 && type === UNSUBACK) {
          if (packet.reasonCodes.length > 0) this.fail("protocol_error", "3.1.1 UNSUBACK has no reason codes");
        } else if (packet.reasonCodes.length === 0) this.fail("protocol_error", `${NAMES[type]} without a reason code`);
        for (const code of packet.reasonCodes) {
          this.reason(code, type, version);
          this.u8(code);
        }
        return type << 4;
      case UNSUBSCRIBE:
        this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        if (packet.topicFilters.length === 0) this.fail("protocol_error", "UNSUBSCRIBE without a topic filter");
        for (const filter of packet.topicFilters) {
          if (!validTopicFilter(filter)) this.fail("bad_topic", `topic filter "${filter}"`);
          this.str(filter);
        }
        return 0xa2;
      case PINGREQ:
      case PINGRESP:
        return type << 4;
      case DISCONNECT:
      case AUTH:
        if (type === AUTH && version === 4) this.fail("bad_packet_type", "AUTH needs MQTT 5.0");
        this.reason(packet.reasonCode, type, version);
        this.shortReason(packet.reasonCode, packet.properties, type, version);
        return type << 4;
      default:
        this.fail("bad_packet_type", `packet type ${type}`);
        return 0;
    }
  }

  /**
   * The reason code and properties of an ack, DISCONNECT or AUTH in the shortest form the spec allows: nothing for
   * success without properties, the code alone without properties (except AUTH, which has no such form).
   */
  private shortReason(code: number, props: Properties | undefined, type: number, version: ProtocolVersion): void {
    if (version === 4) {
      this.noProperties(props, type);
      return;
    }
    const withProperties = hasProperties(props);
    if (code === 0 && !withProperties) return;
    this.u8(code);
    if (withProperties || type === AUTH) this.properties(props, type);
  }

  private subscription(s: Subscription, version: ProtocolVersion): void {
    if (!validTopicFilter(s.topicFilter)) this.fail("bad_topic", `topic filter "${s.topicFilter}"`);
    if (!validQos(s.qos)) this.fail("bad_qos", `subscription QoS ${s.qos}`);
    const handling = s.retainHandling ?? 0;
    let options = s.qos & 3;
    if (version === 4) {
      if (s.noLocal || s.retainAsPublished || handling !== 0)
        this.fail("protocol_error", "subscription options need MQTT 5.0");
    } else {
      if (handling !== 0 && handling !== 1 && handling !== 2)
        this.fail("protocol_error", `retain handling ${handling}`);
      options |= (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | ((handling & 3) << 4);
    }
    this.str(s.topicFilter);
    this.u8(options);
  }
}

function stringLength(s: string): number {
  return 2 + Math.max(utf8Length(s), 0);
}

/** Property length prefix and properties. */
function propertiesLength(props: Properties | undefined): number {
  let n = 0;
  if (props !== undefined) {
    for (const key in props) {
      const value = props[key as keyof Properties];
      const info = propertyByName(key);
      if (value === undefined || info === undefined) continue;
      if (info.type === STRING_PAIR)
        for (const [name, text] of value as [string, string][]) n += 1 + stringLength(name) + stringLength(text);
      else if (info.type === STRING) n += 1 + stringLength(value as string);
      else if (info.type === BINARY) n += 3 + (value as Uint8Array).length;
      else if (Array.isArray(value)) for (const v of value as number[]) n += 1 + varintSize(v);
      else n += info.type === BYTE ? 2 : info.type === TWO_BYTE ? 3 : 5;
    }
  }
  return varintSize(n) + n;
}

/** Property length and properties in 5.0; nothing in 3.1.1. */
function props5(props: Properties | undefined, version: ProtocolVersion): number {
  return version === 5 ? propertiesLength(props) : 0;
}

function bodyLength(packet: Packet, version: ProtocolVersion): number {
  switch (packet.type) {
    case CONNECT: {
      const v = packet.protocolVersion;
      const will = packet.will;
      let n = 10 + props5(packet.properties, v) + stringLength(packet.clientId);
      if (will !== undefined) n += props5(will.properties, v) + stringLength(will.topic) + 2 + will.payload.length;
      if (packet.username !== undefined) n += stringLength(packet.username);
      if (packet.password !== undefined) n += 2 + packet.password.length;
      return n;
    }
    case CONNACK:
      return 2 + props5(packet.properties, version);
    case PUBLISH:
      return (
        stringLength(packet.topic) +
        (packet.qos > 0 ? 2 : 0) +
        props5(packet.properties, version) +
        packet.payload.length
      );
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
      return 2 + reasonLength(packet.type, packet.reasonCode, packet.properties, version);
    case SUBSCRIBE: {
      let n = 2 + props5(packet.properties, version);
      for (const s of packet.subscriptions) n += stringLength(s.topicFilter) + 1;
      return n;
    }
    case SUBACK:
      return 2 + props5(packet.properties, version) + packet.reasonCodes.length;
    case UNSUBSCRIBE: {
      let n = 2 + props5(packet.properties, version);
      for (const filter of packet.topicFilters) n += stringLength(filter);
      return n;
    }
    case UNSUBACK:
      return 2 + (version === 5 ? props5(packet.properties, version) + packet.reasonCodes.length : 0);
    case DISCONNECT:
    case AUTH:
      return reasonLength(packet.type, packet.reasonCode, packet.properties, version);
    default:
      return 0;
  }
}

function reasonLength(type: number, code: number, props: Properties | undefined, version: ProtocolVersion): number {
  if (version === 4) return 0;
  const withProperties = hasProperties(props);
  if (code === 0 && !withProperties) return 0;
  return 1 + (withProperties || type === AUTH ? propertiesLength(props) : 0);
}

/** Encoded size in bytes of a packet that `Encoder.encode` accepts (for queue accounting), without encoding it. */
export function packetLength(packet: Packet, version: ProtocolVersion): number {
  const n = bodyLength(packet, version);
  return 1 + varintSize(n) + n;
}

/** Outcome of reading a fixed header: need more bytes, or the decoder has failed (see `failed`). */
const MORE = 0;
const FAILED = -1;

export class Decoder {
  /** Set after CONNECT/CONNACK negotiation; a CONNECT is decoded per its own protocol level. */
  version: ProtocolVersion;
  private readonly max: number;
  /** Unread bytes are buf[start..end); a packet is decoded in place from there. */
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  /** Pushed bytes that did not fit in buf yet (a private copy, spill[spillStart..spillEnd)), moved into buf as
   *  packets are read. Released once drained. */
  private spill: Uint8Array | undefined;
  private spillStart = 0;
  private spillEnd = 0;
  private failed: CodecError | undefined;
  // The packet being decoded: read position, end, where its body starts and the first error.
  private pos = 0;
  private lim = 0;
  private body = 0;
  private err: CodecError | undefined;

  constructor(version: ProtocolVersion, maxPacketSize: number) {
    this.version = version;
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.buf = new Uint8Array(Math.min(this.max + HEADROOM, 2048));
  }

  /** Bytes of the internal buffer; it never exceeds maxPacketSize + 5. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Takes bytes in any chunking; copies what it needs to keep. */
  push(bytes: Uint8Array): void {
    if (this.failed !== undefined) return;
    const taken = this.spill === undefined ? this.fill(bytes) : 0;
    if (taken < bytes.length) this.keep(taken === 0 ? bytes : bytes.subarray(taken));
  }

  /** Appends to the spill, growing it by doubling so that many pushes without reads stay linear. */
  private keep(bytes: Uint8Array): void {
    let spill = this.spill;
    if (spill === undefined) {
      this.spill = bytes.slice();
      this.spillStart = 0;
      this.spillEnd = bytes.length;
      return;
    }
    if (this.spillEnd + bytes.length > spill.length) {
      const held = this.spillEnd - this.spillStart;
      if (held + bytes.length <= spill.length) spill.copyWithin(0, this.spillStart, this.spillEnd);
      else {
        const grown = new Uint8Array(Math.max(held + bytes.length, 2 * spill.length));
        grown.set(spill.subarray(this.spillStart, this.spillEnd));
        spill = this.spill = grown;
      }
      this.spillStart = 0;
      this.spillEnd = held;
    }
    spill.set(bytes, this.spillEnd);
    this.spillEnd += bytes.length;
  }

  /**
   * The next whole packet, a CodecError (after which the decoder stays failed: the connection must close), or
   * undefined when more bytes are needed. The maximum packet size is enforced from the fixed header alone, before
   * the body is buffered.
   */
  next(): Packet | CodecError | undefined {
    // Each turn returns or moves at least one byte from the spill into buf, so this ends.
    for (;;) {
      if (this.failed !== undefined) return this.failed;
      const total = this.frame();
      if (total === FAILED) return this.failed;
      if (total !== MORE && total <= this.end - this.start) {
        const packet = this.decode(total);
        this.start += total;
        if (this.start === this.end) this.start = this.end = 0;
        if (this.err === undefined) return packet;
        this.failed = this.err;
        return this.failed;
      }
      const spill = this.spill;
      if (spill === undefined) return undefined;
      if (total > this.buf.length) this.grow(total);
      this.spillStart += this.fill(spill.subarray(this.spillStart, this.spillEnd));
      if (this.spillStart === this.spillEnd) this.spill = undefined;
    }
  }

  /** Copies as much of src as fits after the unread bytes; returns how much. */
  private fill(src: Uint8Array): number {
    if (this.start > 0 && this.end + src.length > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const n = Math.min(src.length, this.buf.length - this.end);
    this.buf.set(n === src.length ? src : src.subarray(0, n), this.end);
    this.end += n;
    return n;
  }

  private grow(total: number): void {
    const grown = new Uint8Array(Math.min(Math.max(total, this.buf.length * 2), this.max + HEADROOM));
    grown.set(this.buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = grown;
  }

  private stop(code: CodecErrorCode, message: string): number {
    this.failed = new CodecError(code, message);
    return FAILED;
  }

  /**
   * Checks the fixed header at `start` and returns the packet's total length, MORE, or FAILED. The first byte is
   * checked as soon as it arrives and the size as soon as the remaining length is complete.
   */
  private frame(): number {
    const buf = this.buf;
    const start = this.start;
    if (start === this.end) return MORE;
    const b = buf[start];
    const type = b >> 4;
    const flags = b & 15;
    if (type === 0 || (type === AUTH && this.version === 4)) return this.stop("bad_packet_type", `packet type ${type}`);
    if (type === PUBLISH) {
      if ((flags & 6) === 6) return this.stop("bad_qos", "PUBLISH QoS 3");
      if ((flags & 14) === 8) return this.stop("protocol_error", "DUP set on a QoS 0 PUBLISH");
    } else if (flags !== fixedFlags(type)) return this.stop("reserved_flags", `${NAMES[type]} flags ${flags}`);
    let length = 0;
    let scale = 1;
    for (let i = 1; i <= 4; i++) {
      if (start + i >= this.end) return MORE;
      const d = buf[start + i];
      length += (d & 0x7f) * scale;
      if (d < 0x80) {
        const total = i + 1 + length;
        if (total > this.max) return this.stop("packet_too_large", `${NAMES[type]} of ${total} bytes`);
        this.body = start + i + 1;
        return total;
      }
      scale *= 128;
    }
    return this.stop("malformed_length", "remaining length longer than 4 bytes");
  }

  private fail(code: CodecErrorCode, message: string): void {
    if (this.err === undefined) this.err = new CodecError(code, message);
    // Reads after an error see an empty packet, so every loop ends.
    this.pos = this.lim;
  }

  private u8(): number {
    if (this.pos < this.lim) return this.buf[this.pos++];
    this.fail("malformed_packet", "packet shorter than its contents");
    return 0;
  }

  private u16(): number {
    if (this.pos + 2 > this.lim) {
      this.fail("malformed_packet", "packet shorter than its contents");
      return 0;
    }
    const n = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return n;
  }

  private u32(): number {
    const high = this.u16();
    return high * 0x10000 + this.u16();
  }

  private varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      const d = this.u8();
      n += (d & 0x7f) * scale;
      if (d < 0x80) return n;
      scale *= 128;
    }
    this.fail("malformed_packet", "variable byte integer longer than 4 bytes");
    return 0;
  }

  /** Checks that a length-prefixed field fits and returns where it ends (the caller reads pos..end). */
  private field(): number {
    const n = this.u16();
    if (this.pos + n <= this.lim) return this.pos + n;
    this.fail("malformed_packet", "field longer than the packet");
    return this.pos;
  }

  private str(): string {
    const end = this.field();
    const s = readUtf8(this.buf, this.pos, end);
    this.pos = end;
    if (s !== undefined) return s;
    this.fail("bad_utf8", "ill-formed UTF-8, a surrogate or U+0000 in a string");
    return "";
  }

  private bin(): Uint8Array {
    const end = this.field();
    const bytes = this.buf.slice(this.pos, end);
    this.pos = end;
    return bytes;
  }

  private packetId(type: number): number {
    const id = this.u16();
    if (id === 0 && this.err === undefined) this.fail("bad_packet_id", `${NAMES[type]} packet identifier 0`);
    return id;
  }

  private reason(code: number, type: number, version: ProtocolVersion): void {
    if (this.err === undefined && !validReason(code, type, version))
      this.fail("protocol_error", `${NAMES[type]} reason code ${code}`);
  }

  /** Property length and properties; undefined when there are none. `type` is WILL for Will Properties. */
  private properties(type: number): Properties | undefined {
    const length = this.varint();
    const stop = this.pos + length;
    if (stop > this.lim) this.fail("malformed_packet", "property length beyond the packet");
    if (length === 0 || this.err !== undefined) return undefined;
    const props: Properties = {};
    const values = props as Record<string, unknown>;
    while (this.pos < stop) {
      const id = this.varint();
      const info = propertyById(id);
      if (info === undefined || !propertyAllowed(info, type)) {
        this.fail("bad_property", `property ${id} in ${NAMES[type]}`);
        break;
      }
      if (values[info.name] !== undefined && !propertyRepeats(info, type)) {
        this.fail("duplicate_property", `${info.name} twice in ${NAMES[type]}`);
        break;
      }
      if (info.type === STRING_PAIR) {
        const name = this.str();
        const pair: [string, string] = [name, this.str()];
        if (props.userProperties === undefined) props.userProperties = [pair];
        else props.userProperties.push(pair);
      } else if (info.type === STRING) values[info.name] = this.str();
      else if (info.type === BINARY) values[info.name] = this.bin();
      else {
        const t = info.type;
        const n = t === BYTE ? this.u8() : t === TWO_BYTE ? this.u16() : t === FOUR_BYTE ? this.u32() : this.varint();
        if (this.err === undefined && !propertyValueValid(info, n)) this.fail("bad_property", `${info.name} = ${n}`);
        else if (info.id !== 0x0b) values[info.name] = n;
        else if (props.subscriptionIdentifier === undefined) props.subscriptionIdentifier = [n];
        else props.subscriptionIdentifier.push(n);
      }
    }
    if (this.pos !== stop) this.fail("malformed_packet", "a property crosses the property length");
    return props;
  }

  /** Properties in 5.0 when the packet has bytes left for them (the short forms of acks and DISCONNECT). */
  private optionalProperties(type: number): Properties | undefined {
    return this.pos < this.lim ? this.properties(type) : undefined;
  }

  /** Decodes the packet of `total` bytes at `start`; errors land in `err`. */
  private decode(total: number): Packet {
    this.pos = this.body;
    this.lim = this.start + total;
    this.err = undefined;
    const first = this.buf[this.start];
    const packet = this.packet(first >> 4, first & 15);
    if (this.err === undefined && this.pos !== this.lim)
      this.fail("malformed_packet", `${NAMES[first >> 4]} remaining length does not match its contents`);
    return packet;
  }

  private packet(type: number, flags: number): Packet {
    const v5 = this.version === 5;
    switch (type) {
      case CONNECT:
        return this.connect();
      case CONNACK: {
        const ack = this.u8();
        const code = this.u8();
        if (ack & 0xfe) this.fail("reserved_flags", `CONNACK flags ${ack}`);
        const properties = v5 ? this.optionalProperties(type) : undefined;
        // A 3.1.1 broker refuses a 5.0 CONNECT with a 3.1.1 CONNACK (no properties, return code 1): let it through
        // so that the client can tell why and fall back.
        if (!(v5 && properties === undefined && this.lim - this.body === 2 && code <= 5))
          this.reason(code, type, this.version);
        if (ack && code !== 0) this.fail("protocol_error", "session present with a refusal");
        return properties === undefined
          ? { type, sessionPresent: ack === 1, reasonCode: code }
          : { type, sessionPresent: ack === 1, reasonCode: code, properties };
      }
      case PUBLISH: {
        const qos = ((flags >> 1) & 3) as QoS;
        const topic = this.str();
        const packetId = qos > 0 ? this.packetId(type) : undefined;
        const properties = v5 ? this.properties(type) : undefined;
        if (this.err === undefined) {
          if (topic === "" ? properties?.topicAlias === undefined : topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0)
            this.fail("bad_topic", `PUBLISH topic name "${topic}"`);
        }
        const payload = this.buf.slice(this.pos, this.lim);
        this.pos = this.lim;
        const packet: Packet = { type, topic, payload, qos, retain: (flags & 1) === 1, dup: (flags & 8) === 8 };
        if (packetId !== undefined) packet.packetId = packetId;
        if (properties !== undefined) packet.properties = properties;
        return packet;
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP: {
        const packetId = this.packetId(type);
        const reasonCode = v5 && this.pos < this.lim ? this.u8() : 0;
        const properties = v5 ? this.optionalProperties(type) : undefined;
        this.reason(reasonCode, type, this.version);
        return properties === undefined ? { type, packetId, reasonCode } : { type, packetId, reasonCode, properties };
      }
      case SUBSCRIBE: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : undefined;
        const subscriptions: Subscription[] = [];
        while (this.pos < this.lim) subscriptions.push(this.subscription(v5));
        if (subscriptions.length === 0) this.fail("protocol_error", "SUBSCRIBE without a topic filter");
        return properties === undefined
          ? { type, packetId, subscriptions }
          : { type, packetId, subscriptions, properties };
      }
      case SUBACK:
      case UNSUBACK: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : undefined;
        // A 3.1.1 UNSUBACK is the packet identifier alone: extra bytes are a length mismatch.
        const withCodes = v5 || type === SUBACK;
        const reasonCodes: number[] = [];
        while (withCodes && this.pos < this.lim) {
          const code = this.u8();
          this.reason(code, type, this.version);
          reasonCodes.push(code);
        }
        if (withCodes && reasonCodes.length === 0) this.fail("protocol_error", `${NAMES[type]} without a reason code`);
        return properties === undefined ? { type, packetId, reasonCodes } : { type, packetId, reasonCodes, properties };
      }
      case UNSUBSCRIBE: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : undefined;
        const topicFilters: string[] = [];
        while (this.pos < this.lim) {
          const filter = this.str();
          if (this.err === undefined && !validTopicFilter(filter)) this.fail("bad_topic", `topic filter "${filter}"`);
          topicFilters.push(filter);
        }
        if (topicFilters.length === 0) this.fail("protocol_error", "UNSUBSCRIBE without a topic filter");
        return properties === undefined
          ? { type, packetId, topicFilters }
          : { type, packetId, topicFilters, properties };
      }
      case PINGREQ:
      case PINGRESP:
        return { type };
      default: {
        // DISCONNECT and AUTH (frame() refused AUTH in 3.1.1).
        const t = type as typeof DISCONNECT | typeof AUTH;
        const reasonCode = v5 && this.pos < this.lim ? this.u8() : 0;
        const properties = v5 ? this.optionalProperties(t) : undefined;
        this.reason(reasonCode, t, this.version);
        return properties === undefined ? { type: t, reasonCode } : { type: t, reasonCode, properties };
      }
    }
  }

  private subscription(v5: boolean): Subscription {
    const topicFilter = this.str();
    const options = this.u8();
    const qos = (options & 3) as QoS;
    const handling = (options >> 4) & 3;
    if (this.err !== undefined) return { topicFilter, qos };
    if (options & (v5 ? 0xc0 : 0xfc)) this.fail("reserved_flags", `subscription options ${options}`);
    else if (!validQos(qos)) this.fail("bad_qos", "subscription QoS 3");
    else if (handling === 3) this.fail("protocol_error", "retain handling 3");
    else if (!validTopicFilter(topicFilter)) this.fail("bad_topic", `topic filter "${topicFilter}"`);
    if (!v5) return { topicFilter, qos };
    return {
      topicFilter,
      qos,
      noLocal: (options & 4) !== 0,
      retainAsPublished: (options & 8) !== 0,
      retainHandling: handling,
    };
  }

  private connect(): Packet {
    for (const b of PROTOCOL_NAME) {
      if (this.u8() !== b) {
        this.fail("protocol_error", "protocol name is not MQTT");
        break;
      }
    }
    const level = this.u8();
    if (this.err === undefined && level !== 4 && level !== 5)
      this.fail("unsupported_protocol_version", `protocol level ${level}`);
    const v = level === 5 ? 5 : 4;
    const flags = this.u8();
    if (flags & 1) this.fail("reserved_flags", "CONNECT reserved flag");
    const keepAlive = this.u16();
    const properties = v === 5 ? this.properties(CONNECT) : undefined;
    const clientId = this.str();
    const packet: Packet = { type: CONNECT, protocolVersion: v, clientId, cleanStart: (flags & 2) !== 0, keepAlive };
    if (properties !== undefined) packet.properties = properties;
    const qos = ((flags >> 3) & 3) as QoS;
    if (flags & 4) {
      const willProperties = v === 5 ? this.properties(WILL) : undefined;
      const topic = this.str();
      if (this.err === undefined && !validTopicName(topic)) this.fail("bad_topic", `will topic "${topic}"`);
      if (!validQos(qos)) this.fail("bad_qos", "will QoS 3");
      packet.will = { topic, payload: this.bin(), qos, retain: (flags & 0x20) !== 0 };
      if (willProperties !== undefined) packet.will.properties = willProperties;
    } else if (flags & 0x38) this.fail("malformed_packet", "will QoS or retain without a will");
    if (flags & 0x80) packet.username = this.str();
    if (flags & 0x40) {
      if (v === 4 && !(flags & 0x80)) this.fail("protocol_error", "3.1.1 password without user name");
      packet.password = this.bin();
    }
    return packet;
  }
}
