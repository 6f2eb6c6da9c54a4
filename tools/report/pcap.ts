// The device's packet trace (`trace on`: one `trace in|out type=...` line per MQTT packet) turned into a capture
// file (pcap) that Wireshark and tshark decode as MQTT over TCP. Each connection becomes one TCP stream (handshake,
// one segment per packet, then FIN or RST as the log says it ended) between the device (10.0.0.2) and the broker's
// address from the log, on port 1883 whatever the real port was, so that Wireshark's MQTT dissector takes it.
// Packets are rebuilt with mqtt-packet from the fields the trace keeps: a payload beyond the trace's 32-byte preview
// is filled with zero bytes to its real length, a user name that was set reads `***` (the trace never has it), and
// a SUBSCRIBE's filters come from the `mqtt subscribed` line that follows it.

import { writeFileSync } from "node:fs";
import { generate, type Packet } from "mqtt-packet";
import { type ParsedLine, parseLine } from "tether/diag/log";

const DEVICE = [10, 0, 0, 2];
/** The broker's address when the log names it by host name (TEST-NET-1, documentation only). */
const UNKNOWN_BROKER = [192, 0, 2, 1];
const MQTT_PORT = 1883;
const LINKTYPE_RAW = 101;
const [FIN, SYN, RST, PSH, ACK] = [0x01, 0x02, 0x04, 0x08, 0x10];

interface Stream {
  broker: number[];
  port: number;
  /** Next sequence numbers, device to broker and back. */
  up: number;
  down: number;
}

/** One captured segment: when (ms since the first boot), which way, TCP flags, payload. */
interface Segment {
  t: number;
  stream: Stream;
  out: boolean;
  flags: number;
  data: Uint8Array;
}

/** The capture for a log, as bytes; `packets` counts the MQTT packets in it. */
export function capture(log: string, epochMs = 0): { bytes: Buffer; packets: number } {
  const segments: Segment[] = [];
  let stream: Stream | undefined;
  let broker = UNKNOWN_BROKER;
  let version = 4;
  let offset = 0;
  let last = -1;
  let streams = 0;
  let packets = 0;
  const lines = log.split(/\r?\n/).map((raw) => parseLine(raw));
  const end = (t: number, reset: boolean) => {
    if (!stream) return;
    segments.push({ t, stream, out: !reset, flags: reset ? RST | ACK : FIN | ACK, data: new Uint8Array(0) });
    if (!reset) segments.push({ t, stream, out: false, flags: FIN | ACK, data: new Uint8Array(0) });
    stream = undefined;
  };
  lines.forEach((line, index) => {
    if (!line) return;
    // Uptimes restart at each boot: time runs on, as in the report.
    if (last >= 0 && line.time + offset < last) offset = last;
    const t = line.time + offset;
    last = t;
    const { area, event, fields } = line;
    if (area === "app" && event === "boot") end(t, true);
    else if (area === "mqtt" && event === "config") version = fields.version === "5" ? 5 : 4;
    else if (area === "mqtt" && event === "connecting") broker = address(fields.broker ?? "");
    else if (area === "mqtt" && event === "closed") end(t, false);
    else if (area === "diag" && line.suppressed === undefined && (fields.error || fields.uptime)) {
      end(t, fields.error === "reset");
    } else if (area === "trace" && (event === "in" || event === "out") && fields.type) {
      // A CONNECT opens a new stream; a trace turned on mid-connection starts one where it starts.
      if (fields.type === "CONNECT" && event === "out") end(t, true);
      if (!stream) {
        stream = { broker, port: 49152 + (streams++ % 16000), up: 1000, down: 5000 };
        segments.push({ t, stream, out: true, flags: SYN, data: new Uint8Array(0) });
        segments.push({ t, stream, out: false, flags: SYN | ACK, data: new Uint8Array(0) });
        segments.push({ t, stream, out: true, flags: ACK, data: new Uint8Array(0) });
      }
      const bytes = rebuild(fields, version, lines, index);
      if (!bytes) return;
      packets++;
      segments.push({ t, stream, out: event === "out", flags: PSH | ACK, data: bytes });
    }
  });
  return { bytes: pcapFile(segments, epochMs), packets };
}

/** Writes the capture of `log` to `path`; returns how many MQTT packets it holds. */
export function writePcap(path: string, log: string, epochMs = 0): number {
  const { bytes, packets } = capture(log, epochMs);
  writeFileSync(path, bytes);
  return packets;
}

/** The IPv4 address in a broker URL or `host:port`; TEST-NET-1 for a host name. */
function address(broker: string): number[] {
  const match = /(?:^|\/\/)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::|\/|$)/.exec(broker);
  return match ? match.slice(1, 5).map(Number) : UNKNOWN_BROKER;
}

/** The MQTT packet a trace line stands for, as bytes; undefined for a type it cannot rebuild. */
function rebuild(
  fields: Record<string, string>,
  version: number,
  lines: (ParsedLine | undefined)[],
  index: number,
): Buffer | undefined {
  const id = fields.id === undefined ? undefined : Number(fields.id);
  const rc = fields.rc === undefined ? undefined : Number(fields.rc);
  const size = Number(fields.size ?? 0);
  const v5 = version === 5;
  const base = { protocolVersion: version } as const;
  let packet: Record<string, unknown>;
  switch (fields.type) {
    case "CONNECT":
      packet = {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: version,
        clean: false,
        clientId: fields.client_id ?? "",
        keepalive: Number(fields.keepalive ?? 0),
        ...(fields.user === "set" ? { username: "***" } : {}),
      };
      break;
    case "CONNACK":
      packet = v5 ? { cmd: "connack", reasonCode: rc ?? 0 } : { cmd: "connack", returnCode: rc ?? 0 };
      break;
    case "PUBLISH":
      return publish(fields, version, size, id);
    case "PUBACK":
    case "PUBREC":
    case "PUBREL":
    case "PUBCOMP":
      packet = { cmd: fields.type.toLowerCase(), messageId: id ?? 0, ...(v5 && rc ? { reasonCode: rc } : {}) };
      break;
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      const filters = following(lines, index, fields.type === "SUBSCRIBE" ? "subscribed" : "unsubscribed");
      const topics = (filters?.fields.filters ?? "#").split(",");
      const qos = (filters?.fields.codes ?? "").split(",").map((c) => Math.min(2, Number(c) || 0));
      packet =
        fields.type === "SUBSCRIBE"
          ? {
              cmd: "subscribe",
              messageId: id ?? 0,
              subscriptions: topics.map((topic, i) => ({ topic, qos: qos[i] ?? 0 })),
            }
          : { cmd: "unsubscribe", messageId: id ?? 0, unsubscriptions: topics };
      break;
    }
    case "SUBACK":
    case "UNSUBACK": {
      const acked = following(lines, index, fields.type === "SUBACK" ? "subscribed" : "unsubscribed");
      const codes = (acked?.fields.codes ?? "0").split(",").map(Number);
      packet =
        fields.type === "SUBACK"
          ? { cmd: "suback", messageId: id ?? 0, granted: codes }
          : { cmd: "unsuback", messageId: id ?? 0, ...(v5 ? { granted: codes } : {}) };
      break;
    }
    case "PINGREQ":
    case "PINGRESP":
      packet = { cmd: fields.type.toLowerCase() };
      break;
    case "DISCONNECT":
      packet = { cmd: "disconnect", ...(v5 ? { reasonCode: rc ?? 0 } : {}) };
      break;
    default:
      return undefined;
  }
  try {
    return generate(packet as unknown as Packet, base);
  } catch {
    return undefined;
  }
}

/**
 * The `mqtt <event>` line that says what a (UN)SUBSCRIBE or its ack carried: the next one, else the last one before
 * (the log's rate limit holds back a line identical to one printed shortly before: the same subscription again).
 */
function following(lines: (ParsedLine | undefined)[], index: number, event: string): ParsedLine | undefined {
  const found = (line: ParsedLine | undefined) => line?.area === "mqtt" && line.event === event && !line.suppressed;
  for (let i = index + 1; i < lines.length && i < index + 50; i++) if (found(lines[i])) return lines[i];
  for (let i = index - 1; i >= 0; i--) if (found(lines[i])) return lines[i];
  return undefined;
}

/** A PUBLISH with the traced preview as the start of its payload, zero-filled to the traced packet size. */
function publish(fields: Record<string, string>, version: number, size: number, id: number | undefined): Buffer {
  const qos = Math.min(2, Number(fields.qos ?? 0)) as 0 | 1 | 2;
  const preview = (fields.payload ?? "").replace(/\.\.\.\(\d+\)$/, "");
  const packet = {
    cmd: "publish" as const,
    topic: fields.topic ?? "",
    qos,
    dup: fields.dup === "1",
    retain: fields.retain === "1",
    ...(qos > 0 ? { messageId: id ?? 0 } : {}),
  };
  const empty = generate({ ...packet, payload: Buffer.alloc(0) }, { protocolVersion: version });
  // The payload's length from the packet's: the remaining length grows by a byte past 127, 16383, ... bytes.
  let length = Math.max(0, size - empty.length);
  while (
    length > 0 &&
    generate({ ...packet, payload: Buffer.alloc(length) }, { protocolVersion: version }).length > size
  )
    length--;
  const head = Math.min(length, 32);
  const hex = /^(?:[0-9a-f]{2})+$/.test(preview) && preview.length === 2 * head;
  const start = hex ? Buffer.from(preview, "hex") : Buffer.from(preview, "utf8");
  const payload = Buffer.alloc(Math.max(length, start.length));
  start.copy(payload);
  return generate({ ...packet, payload }, { protocolVersion: version });
}

function pcapFile(segments: Segment[], epochMs: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LINKTYPE_RAW, 20);
  const records: Buffer[] = [header];
  let ipId = 1;
  for (const segment of segments) {
    const ip = ipv4(segment, ipId++);
    const record = Buffer.alloc(16);
    const ms = epochMs + segment.t;
    record.writeUInt32LE(Math.floor(ms / 1000), 0);
    record.writeUInt32LE(Math.round((ms % 1000) * 1000), 4);
    record.writeUInt32LE(ip.length, 8);
    record.writeUInt32LE(ip.length, 12);
    records.push(record, ip);
  }
  return Buffer.concat(records);
}

/** One IPv4 packet with its TCP segment; advances the stream's sequence numbers. */
function ipv4(segment: Segment, id: number): Buffer {
  const { stream, out, flags, data } = segment;
  const [src, dst] = out ? [DEVICE, stream.broker] : [stream.broker, DEVICE];
  const [sport, dport] = out ? [stream.port, MQTT_PORT] : [MQTT_PORT, stream.port];
  const seq = out ? stream.up : stream.down;
  const ack = flags & ACK ? (out ? stream.down : stream.up) : 0;
  const advance = data.length + (flags & (SYN | FIN) ? 1 : 0);
  if (out) stream.up += advance;
  else stream.down += advance;
  const tcp = Buffer.alloc(20 + data.length);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  tcp.set(data, 20);
  const pseudo = Buffer.alloc(12);
  pseudo.set(src, 0);
  pseudo.set(dst, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp])), 16);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + tcp.length, 2);
  ip.writeUInt16BE(id & 0xffff, 4);
  ip[8] = 64;
  ip[9] = 6;
  ip.set(src, 12);
  ip.set(dst, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, tcp]);
}

/** The Internet checksum (RFC 1071). */
function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
