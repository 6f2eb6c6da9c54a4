import {
  AUTH,
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
import {
  BINARY,
  BYTE,
  FOUR_BYTE,
  propertyAllowed,
  propertyById,
  propertyByName,
  propertyRepeats,
  propertyValueValid,
  STRING,
  STRING_PAIR,
  TWO_BYTE,
  WILL
} from "tether/mqtt/properties";
import { validReason } from "tether/mqtt/reasons";
import { validTopicFilter, validTopicName } from "tether/mqtt/topic";
import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";
class CodecError {
  code;
  message;
  constructor(code, message) {
    this.code = code;
    this.message = message;
  }
}
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
  "AUTH"
];
const PROTOCOL_NAME = [0, 4, 77, 81, 84, 84];
function varintSize(n) {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}
function writeVarint(buf, at, n) {
  let v = n;
  while (v >= 128) {
    buf[at++] = v & 127 | 128;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}
function validPacketId(id) {
  return id !== void 0 && Number.isInteger(id) && id > 0 && id <= 65535;
}
function validQos(qos) {
  return qos === 0 || qos === 1 || qos === 2;
}
function hasProperties(props) {
  if (props !== void 0) {
    for (const key in props) if (props[key] !== void 0) return true;
  }
  return false;
}
function fixedFlags(type) {
  return type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0;
}
class Encoder {
  buf;
  pos = 0;
  error;
  /** Largest buffer allowed: a packet of maxPacketSize bytes written after HEADROOM. */
  limit;
  max;
  constructor(initialCapacity, maxPacketSize) {
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.limit = this.max + HEADROOM;
    this.buf = new Uint8Array(Math.min(Math.max(initialCapacity, 16), this.limit));
  }
  /**
   * Writes the packet into the encoder's own buffer and returns a view of it, valid until the next encode. The
   * buffer grows (rarely, by doubling) up to maxPacketSize; larger packets give CodecError packet_too_large.
   * Invalid packets give a CodecError, never an exception. A CONNECT is encoded per its own protocolVersion.
   */
  encode(packet, version) {
    this.pos = HEADROOM;
    this.error = void 0;
    const first = this.body(packet, version);
    if (this.error !== void 0) return this.error;
    const length = this.pos - HEADROOM;
    const start = HEADROOM - 1 - varintSize(length);
    if (this.pos - start > this.max) return new CodecError("packet_too_large", `${this.pos - start} bytes`);
    this.buf[start] = first;
    writeVarint(this.buf, start + 1, length);
    return this.buf.subarray(start, this.pos);
  }
  fail(code, message) {
    if (this.error === void 0) this.error = new CodecError(code, message);
  }
  /** Makes room for n more bytes; false (and packet_too_large) past the limit. */
  room(n) {
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
  u8(n) {
    if (this.room(1)) this.buf[this.pos++] = n;
  }
  u16(n) {
    if (!this.room(2)) return;
    this.buf[this.pos++] = n >> 8;
    this.buf[this.pos++] = n & 255;
  }
  u32(n) {
    if (!this.room(4)) return;
    const buf = this.buf;
    buf[this.pos++] = n >>> 24;
    buf[this.pos++] = n >> 16 & 255;
    buf[this.pos++] = n >> 8 & 255;
    buf[this.pos++] = n & 255;
  }
  varint(n) {
    if (this.room(4)) this.pos = writeVarint(this.buf, this.pos, n);
  }
  raw(bytes) {
    if (!this.room(bytes.length)) return;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
  str(s) {
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
    if (length > 65535) {
      this.fail("malformed_packet", "a string longer than 65535 bytes");
      return;
    }
    this.buf[at] = length >> 8;
    this.buf[at + 1] = length & 255;
    this.pos = end;
  }
  bin(bytes) {
    if (bytes.length > 65535) {
      this.fail("malformed_packet", "binary data longer than 65535 bytes");
      return;
    }
    this.u16(bytes.length);
    this.raw(bytes);
  }
  packetId(id, type) {
    if (validPacketId(id)) this.u16(id);
    else this.fail("bad_packet_id", `${NAMES[type]} packet identifier ${id}`);
  }
  reason(code, type, version) {
    if (!validReason(code, type, version)) this.fail("protocol_error", `${NAMES[type]} reason code ${code}`);
  }
  /** A topic name; empty is allowed where a topic alias stands for it. */
  topic(name, emptyOk) {
    if (name.indexOf("+") >= 0 || name.indexOf("#") >= 0 || name === "" && !emptyOk)
      this.fail("bad_topic", `topic name "${name}"`);
    this.str(name);
  }
  /** The property length and properties of a 5.0 packet (type WILL for Will Properties). */
  properties(props, type) {
    const at = this.pos;
    if (!this.room(1)) return;
    this.pos++;
    if (props !== void 0) {
      for (const key in props) {
        const value = props[key];
        if (value !== void 0) this.property(key, value, type);
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
  property(key, value, type) {
    const info = propertyByName(key);
    if (info === void 0 || !propertyAllowed(info, type)) {
      this.fail("bad_property", `${key} is not a property of ${NAMES[type]}`);
      return;
    }
    if (info.type === STRING_PAIR) {
      for (const [name, text] of value) {
        this.u8(info.id);
        this.str(name);
        this.str(text);
      }
    } else if (info.type === STRING) {
      this.u8(info.id);
      this.str(value);
    } else if (info.type === BINARY) {
      this.u8(info.id);
      this.bin(value);
    } else if (Array.isArray(value)) {
      if (value.length > 1 && !propertyRepeats(info, type)) {
        this.fail("duplicate_property", `${key} more than once in ${NAMES[type]}`);
        return;
      }
      for (const n of value) this.number(info, n);
    } else this.number(info, value);
  }
  number(info, n) {
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
  noProperties(props, type) {
    if (hasProperties(props)) this.fail("protocol_error", `${NAMES[type]} properties need MQTT 5.0`);
  }
  /** Properties (5.0) or none (3.1.1). */
  propertiesFor(props, type, version) {
    if (version === 5) this.properties(props, type);
    else this.noProperties(props, type);
  }
  /** Writes everything after the fixed header and returns the fixed header's first byte. */
  body(packet, version) {
    const type = packet.type;
    switch (packet.type) {
      case CONNECT: {
        const v = packet.protocolVersion;
        if (v !== 4 && v !== 5) this.fail("unsupported_protocol_version", `protocol level ${v}`);
        const will = packet.will;
        let flags = packet.cleanStart ? 2 : 0;
        if (will !== void 0) {
          if (!validQos(will.qos)) this.fail("bad_qos", `will QoS ${will.qos}`);
          flags |= 4 | will.qos << 3 | (will.retain ? 32 : 0);
        }
        if (packet.username !== void 0) flags |= 128;
        if (packet.password !== void 0) {
          if (v === 4 && packet.username === void 0) this.fail("protocol_error", "3.1.1 password without user name");
          flags |= 64;
        }
        if (!(Number.isInteger(packet.keepAlive) && packet.keepAlive >= 0 && packet.keepAlive <= 65535))
          this.fail("protocol_error", `keep alive ${packet.keepAlive}`);
        for (const b of PROTOCOL_NAME) this.u8(b);
        this.u8(v);
        this.u8(flags);
        this.u16(packet.keepAlive);
        this.propertiesFor(packet.properties, CONNECT, v);
        this.str(packet.clientId);
        if (will !== void 0) {
          this.propertiesFor(will.properties, WILL, v);
          this.topic(will.topic, false);
          this.bin(will.payload);
        }
        if (packet.username !== void 0) this.str(packet.username);
        if (packet.password !== void 0) this.bin(packet.password);
        return 16;
      }
      case CONNACK:
        this.reason(packet.reasonCode, type, version);
        if (packet.sessionPresent && packet.reasonCode !== 0)
          this.fail("protocol_error", "session present with a refusal");
        this.u8(packet.sessionPresent ? 1 : 0);
        this.u8(packet.reasonCode);
        this.propertiesFor(packet.properties, type, version);
        return 32;
      case PUBLISH: {
        const qos = packet.qos;
        if (!validQos(qos)) this.fail("bad_qos", `PUBLISH QoS ${qos}`);
        if (packet.dup && qos === 0) this.fail("protocol_error", "DUP set on a QoS 0 PUBLISH");
        this.topic(packet.topic, version === 5 && packet.properties?.topicAlias !== void 0);
        if (qos > 0) this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        this.raw(packet.payload);
        return 48 | (packet.dup ? 8 : 0) | (qos & 3) << 1 | (packet.retain ? 1 : 0);
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
        this.packetId(packet.packetId, type);
        this.reason(packet.reasonCode, type, version);
        this.shortReason(packet.reasonCode, packet.properties, type, version);
        return type << 4 | fixedFlags(type);
      case SUBSCRIBE:
        this.packetId(packet.packetId, type);
        this.propertiesFor(packet.properties, type, version);
        if (packet.subscriptions.length === 0) this.fail("protocol_error", "SUBSCRIBE without a topic filter");
        for (const s of packet.subscriptions) this.subscription(s, version);
        return 130;
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
        return 162;
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
  shortReason(code, props, type, version) {
    if (version === 4) {
      this.noProperties(props, type);
      return;
    }
    const withProperties = hasProperties(props);
    if (code === 0 && !withProperties) return;
    this.u8(code);
    if (withProperties || type === AUTH) this.properties(props, type);
  }
  subscription(s, version) {
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
      options |= (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (handling & 3) << 4;
    }
    this.str(s.topicFilter);
    this.u8(options);
  }
}
function stringLength(s) {
  return 2 + Math.max(utf8Length(s), 0);
}
function propertiesLength(props) {
  let n = 0;
  if (props !== void 0) {
    for (const key in props) {
      const value = props[key];
      const info = propertyByName(key);
      if (value === void 0 || info === void 0) continue;
      if (info.type === STRING_PAIR)
        for (const [name, text] of value) n += 1 + stringLength(name) + stringLength(text);
      else if (info.type === STRING) n += 1 + stringLength(value);
      else if (info.type === BINARY) n += 3 + value.length;
      else if (Array.isArray(value)) for (const v of value) n += 1 + varintSize(v);
      else n += info.type === BYTE ? 2 : info.type === TWO_BYTE ? 3 : 5;
    }
  }
  return varintSize(n) + n;
}
function props5(props, version) {
  return version === 5 ? propertiesLength(props) : 0;
}
function bodyLength(packet, version) {
  switch (packet.type) {
    case CONNECT: {
      const v = packet.protocolVersion;
      const will = packet.will;
      let n = 10 + props5(packet.properties, v) + stringLength(packet.clientId);
      if (will !== void 0) n += props5(will.properties, v) + stringLength(will.topic) + 2 + will.payload.length;
      if (packet.username !== void 0) n += stringLength(packet.username);
      if (packet.password !== void 0) n += 2 + packet.password.length;
      return n;
    }
    case CONNACK:
      return 2 + props5(packet.properties, version);
    case PUBLISH:
      return stringLength(packet.topic) + (packet.qos > 0 ? 2 : 0) + props5(packet.properties, version) + packet.payload.length;
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
function reasonLength(type, code, props, version) {
  if (version === 4) return 0;
  const withProperties = hasProperties(props);
  if (code === 0 && !withProperties) return 0;
  return 1 + (withProperties || type === AUTH ? propertiesLength(props) : 0);
}
function packetLength(packet, version) {
  const n = bodyLength(packet, version);
  return 1 + varintSize(n) + n;
}
const MORE = 0;
const FAILED = -1;
class Decoder {
  /** Set after CONNECT/CONNACK negotiation; a CONNECT is decoded per its own protocol level. */
  version;
  max;
  /** Unread bytes are buf[start..end); a packet is decoded in place from there. */
  buf;
  start = 0;
  end = 0;
  /** Pushed bytes that did not fit in buf yet (a private copy, spill[spillStart..spillEnd)), moved into buf as
   *  packets are read. Released once drained. */
  spill;
  spillStart = 0;
  spillEnd = 0;
  failed;
  // The packet being decoded: read position, end, where its body starts and the first error.
  pos = 0;
  lim = 0;
  body = 0;
  err;
  constructor(version, maxPacketSize) {
    this.version = version;
    this.max = Math.min(maxPacketSize, VARINT_MAX + HEADROOM);
    this.buf = new Uint8Array(Math.min(this.max + HEADROOM, 2048));
  }
  /** Bytes of the internal buffer; it never exceeds maxPacketSize + 5. */
  get capacity() {
    return this.buf.length;
  }
  /** Takes bytes in any chunking; copies what it needs to keep. */
  push(bytes) {
    if (this.failed !== void 0) return;
    const taken = this.spill === void 0 ? this.fill(bytes) : 0;
    if (taken < bytes.length) this.keep(taken === 0 ? bytes : bytes.subarray(taken));
  }
  /** Appends to the spill, growing it by doubling so that many pushes without reads stay linear. */
  keep(bytes) {
    let spill = this.spill;
    if (spill === void 0) {
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
  next() {
    for (; ; ) {
      if (this.failed !== void 0) return this.failed;
      const total = this.frame();
      if (total === FAILED) return this.failed;
      if (total !== MORE && total <= this.end - this.start) {
        const packet = this.decode(total);
        this.start += total;
        if (this.start === this.end) this.start = this.end = 0;
        if (this.err === void 0) return packet;
        this.failed = this.err;
        return this.failed;
      }
      const spill = this.spill;
      if (spill === void 0) return void 0;
      if (total > this.buf.length) this.grow(total);
      this.spillStart += this.fill(spill.subarray(this.spillStart, this.spillEnd));
      if (this.spillStart === this.spillEnd) this.spill = void 0;
    }
  }
  /** Copies as much of src as fits after the unread bytes; returns how much. */
  fill(src) {
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
  grow(total) {
    const grown = new Uint8Array(Math.min(Math.max(total, this.buf.length * 2), this.max + HEADROOM));
    grown.set(this.buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = grown;
  }
  stop(code, message) {
    this.failed = new CodecError(code, message);
    return FAILED;
  }
  /**
   * Checks the fixed header at `start` and returns the packet's total length, MORE, or FAILED. The first byte is
   * checked as soon as it arrives and the size as soon as the remaining length is complete.
   */
  frame() {
    const buf = this.buf;
    const start = this.start;
    if (start === this.end) return MORE;
    const b = buf[start];
    const type = b >> 4;
    const flags = b & 15;
    if (type === 0 || type === AUTH && this.version === 4) return this.stop("bad_packet_type", `packet type ${type}`);
    if (type === PUBLISH) {
      if ((flags & 6) === 6) return this.stop("bad_qos", "PUBLISH QoS 3");
      if ((flags & 14) === 8) return this.stop("protocol_error", "DUP set on a QoS 0 PUBLISH");
    } else if (flags !== fixedFlags(type)) return this.stop("reserved_flags", `${NAMES[type]} flags ${flags}`);
    let length = 0;
    let scale = 1;
    for (let i = 1; i <= 4; i++) {
      if (start + i >= this.end) return MORE;
      const d = buf[start + i];
      length += (d & 127) * scale;
      if (d < 128) {
        const total = i + 1 + length;
        if (total > this.max) return this.stop("packet_too_large", `${NAMES[type]} of ${total} bytes`);
        this.body = start + i + 1;
        return total;
      }
      scale *= 128;
    }
    return this.stop("malformed_length", "remaining length longer than 4 bytes");
  }
  fail(code, message) {
    if (this.err === void 0) this.err = new CodecError(code, message);
    this.pos = this.lim;
  }
  u8() {
    if (this.pos < this.lim) return this.buf[this.pos++];
    this.fail("malformed_packet", "packet shorter than its contents");
    return 0;
  }
  u16() {
    if (this.pos + 2 > this.lim) {
      this.fail("malformed_packet", "packet shorter than its contents");
      return 0;
    }
    const n = this.buf[this.pos] << 8 | this.buf[this.pos + 1];
    this.pos += 2;
    return n;
  }
  u32() {
    const high = this.u16();
    return high * 65536 + this.u16();
  }
  varint() {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      const d = this.u8();
      n += (d & 127) * scale;
      if (d < 128) return n;
      scale *= 128;
    }
    this.fail("malformed_packet", "variable byte integer longer than 4 bytes");
    return 0;
  }
  /** Checks that a length-prefixed field fits and returns where it ends (the caller reads pos..end). */
  field() {
    const n = this.u16();
    if (this.pos + n <= this.lim) return this.pos + n;
    this.fail("malformed_packet", "field longer than the packet");
    return this.pos;
  }
  str() {
    const end = this.field();
    const s = readUtf8(this.buf, this.pos, end);
    this.pos = end;
    if (s !== void 0) return s;
    this.fail("bad_utf8", "ill-formed UTF-8, a surrogate or U+0000 in a string");
    return "";
  }
  bin() {
    const end = this.field();
    const bytes = this.buf.slice(this.pos, end);
    this.pos = end;
    return bytes;
  }
  packetId(type) {
    const id = this.u16();
    if (id === 0 && this.err === void 0) this.fail("bad_packet_id", `${NAMES[type]} packet identifier 0`);
    return id;
  }
  reason(code, type, version) {
    if (this.err === void 0 && !validReason(code, type, version))
      this.fail("protocol_error", `${NAMES[type]} reason code ${code}`);
  }
  /** Property length and properties; undefined when there are none. `type` is WILL for Will Properties. */
  properties(type) {
    const length = this.varint();
    const stop = this.pos + length;
    if (stop > this.lim) this.fail("malformed_packet", "property length beyond the packet");
    if (length === 0 || this.err !== void 0) return void 0;
    const props = {};
    const values = props;
    while (this.pos < stop) {
      const id = this.varint();
      const info = propertyById(id);
      if (info === void 0 || !propertyAllowed(info, type)) {
        this.fail("bad_property", `property ${id} in ${NAMES[type]}`);
        break;
      }
      if (values[info.name] !== void 0 && !propertyRepeats(info, type)) {
        this.fail("duplicate_property", `${info.name} twice in ${NAMES[type]}`);
        break;
      }
      if (info.type === STRING_PAIR) {
        const name = this.str();
        const pair = [name, this.str()];
        if (props.userProperties === void 0) props.userProperties = [pair];
        else props.userProperties.push(pair);
      } else if (info.type === STRING) values[info.name] = this.str();
      else if (info.type === BINARY) values[info.name] = this.bin();
      else {
        const t = info.type;
        const n = t === BYTE ? this.u8() : t === TWO_BYTE ? this.u16() : t === FOUR_BYTE ? this.u32() : this.varint();
        if (this.err === void 0 && !propertyValueValid(info, n)) this.fail("bad_property", `${info.name} = ${n}`);
        else if (info.id !== 11) values[info.name] = n;
        else if (props.subscriptionIdentifier === void 0) props.subscriptionIdentifier = [n];
        else props.subscriptionIdentifier.push(n);
      }
    }
    if (this.pos !== stop) this.fail("malformed_packet", "a property crosses the property length");
    return props;
  }
  /** Properties in 5.0 when the packet has bytes left for them (the short forms of acks and DISCONNECT). */
  optionalProperties(type) {
    return this.pos < this.lim ? this.properties(type) : void 0;
  }
  /** Decodes the packet of `total` bytes at `start`; errors land in `err`. */
  decode(total) {
    this.pos = this.body;
    this.lim = this.start + total;
    this.err = void 0;
    const first = this.buf[this.start];
    const packet = this.packet(first >> 4, first & 15);
    if (this.err === void 0 && this.pos !== this.lim)
      this.fail("malformed_packet", `${NAMES[first >> 4]} remaining length does not match its contents`);
    return packet;
  }
  packet(type, flags) {
    const v5 = this.version === 5;
    switch (type) {
      case CONNECT:
        return this.connect();
      case CONNACK: {
        const ack = this.u8();
        const code = this.u8();
        if (ack & 254) this.fail("reserved_flags", `CONNACK flags ${ack}`);
        const properties = v5 ? this.optionalProperties(type) : void 0;
        if (!(v5 && properties === void 0 && this.lim - this.body === 2 && code <= 5))
          this.reason(code, type, this.version);
        if (ack && code !== 0) this.fail("protocol_error", "session present with a refusal");
        return properties === void 0 ? { type, sessionPresent: ack === 1, reasonCode: code } : { type, sessionPresent: ack === 1, reasonCode: code, properties };
      }
      case PUBLISH: {
        const qos = flags >> 1 & 3;
        const topic = this.str();
        const packetId = qos > 0 ? this.packetId(type) : void 0;
        const properties = v5 ? this.properties(type) : void 0;
        if (this.err === void 0) {
          if (topic === "" ? properties?.topicAlias === void 0 : topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0)
            this.fail("bad_topic", `PUBLISH topic name "${topic}"`);
        }
        const payload = this.buf.slice(this.pos, this.lim);
        this.pos = this.lim;
        const packet = { type, topic, payload, qos, retain: (flags & 1) === 1, dup: (flags & 8) === 8 };
        if (packetId !== void 0) packet.packetId = packetId;
        if (properties !== void 0) packet.properties = properties;
        return packet;
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP: {
        const packetId = this.packetId(type);
        const reasonCode = v5 && this.pos < this.lim ? this.u8() : 0;
        const properties = v5 ? this.optionalProperties(type) : void 0;
        this.reason(reasonCode, type, this.version);
        return properties === void 0 ? { type, packetId, reasonCode } : { type, packetId, reasonCode, properties };
      }
      case SUBSCRIBE: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : void 0;
        const subscriptions = [];
        while (this.pos < this.lim) subscriptions.push(this.subscription(v5));
        if (subscriptions.length === 0) this.fail("protocol_error", "SUBSCRIBE without a topic filter");
        return properties === void 0 ? { type, packetId, subscriptions } : { type, packetId, subscriptions, properties };
      }
      case SUBACK:
      case UNSUBACK: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : void 0;
        const withCodes = v5 || type === SUBACK;
        const reasonCodes = [];
        while (withCodes && this.pos < this.lim) {
          const code = this.u8();
          this.reason(code, type, this.version);
          reasonCodes.push(code);
        }
        if (withCodes && reasonCodes.length === 0) this.fail("protocol_error", `${NAMES[type]} without a reason code`);
        return properties === void 0 ? { type, packetId, reasonCodes } : { type, packetId, reasonCodes, properties };
      }
      case UNSUBSCRIBE: {
        const packetId = this.packetId(type);
        const properties = v5 ? this.properties(type) : void 0;
        const topicFilters = [];
        while (this.pos < this.lim) {
          const filter = this.str();
          if (this.err === void 0 && !validTopicFilter(filter)) this.fail("bad_topic", `topic filter "${filter}"`);
          topicFilters.push(filter);
        }
        if (topicFilters.length === 0) this.fail("protocol_error", "UNSUBSCRIBE without a topic filter");
        return properties === void 0 ? { type, packetId, topicFilters } : { type, packetId, topicFilters, properties };
      }
      case PINGREQ:
      case PINGRESP:
        return { type };
      default: {
        const t = type;
        const reasonCode = v5 && this.pos < this.lim ? this.u8() : 0;
        const properties = v5 ? this.optionalProperties(t) : void 0;
        this.reason(reasonCode, t, this.version);
        return properties === void 0 ? { type: t, reasonCode } : { type: t, reasonCode, properties };
      }
    }
  }
  subscription(v5) {
    const topicFilter = this.str();
    const options = this.u8();
    const qos = options & 3;
    const handling = options >> 4 & 3;
    if (this.err !== void 0) return { topicFilter, qos };
    if (options & (v5 ? 192 : 252)) this.fail("reserved_flags", `subscription options ${options}`);
    else if (!validQos(qos)) this.fail("bad_qos", "subscription QoS 3");
    else if (handling === 3) this.fail("protocol_error", "retain handling 3");
    else if (!validTopicFilter(topicFilter)) this.fail("bad_topic", `topic filter "${topicFilter}"`);
    if (!v5) return { topicFilter, qos };
    return {
      topicFilter,
      qos,
      noLocal: (options & 4) !== 0,
      retainAsPublished: (options & 8) !== 0,
      retainHandling: handling
    };
  }
  connect() {
    for (const b of PROTOCOL_NAME) {
      if (this.u8() !== b) {
        this.fail("protocol_error", "protocol name is not MQTT");
        break;
      }
    }
    const level = this.u8();
    if (this.err === void 0 && level !== 4 && level !== 5)
      this.fail("unsupported_protocol_version", `protocol level ${level}`);
    const v = level === 5 ? 5 : 4;
    const flags = this.u8();
    if (flags & 1) this.fail("reserved_flags", "CONNECT reserved flag");
    const keepAlive = this.u16();
    const properties = v === 5 ? this.properties(CONNECT) : void 0;
    const clientId = this.str();
    const packet = { type: CONNECT, protocolVersion: v, clientId, cleanStart: (flags & 2) !== 0, keepAlive };
    if (properties !== void 0) packet.properties = properties;
    const qos = flags >> 3 & 3;
    if (flags & 4) {
      const willProperties = v === 5 ? this.properties(WILL) : void 0;
      const topic = this.str();
      if (this.err === void 0 && !validTopicName(topic)) this.fail("bad_topic", `will topic "${topic}"`);
      if (!validQos(qos)) this.fail("bad_qos", "will QoS 3");
      packet.will = { topic, payload: this.bin(), qos, retain: (flags & 32) !== 0 };
      if (willProperties !== void 0) packet.will.properties = willProperties;
    } else if (flags & 56) this.fail("malformed_packet", "will QoS or retain without a will");
    if (flags & 128) packet.username = this.str();
    if (flags & 64) {
      if (v === 4 && !(flags & 128)) this.fail("protocol_error", "3.1.1 password without user name");
      packet.password = this.bin();
    }
    return packet;
  }
}
export {
  CodecError,
  Decoder,
  Encoder,
  packetLength
};
