// The codec workloads and Tether's side of them, in plain ES2022 so that the same data and the same loops run on
// Node and inside XS. Rates are packets per second over one pass or more of the case's packets, until `ms` passed.
import { CodecError, Decoder, Encoder } from "tether/mqtt/codec";
import {
  AUTH,
  CONNACK,
  CONNECT,
  DISCONNECT,
  type Packet,
  PINGREQ,
  PINGRESP,
  type ProtocolVersion,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  type QoS,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
} from "tether/mqtt/packets";

export interface CodecCase {
  name: string;
  version: ProtocolVersion;
  packets: Packet[];
}

/** Decoders are fed the stream in chunks of a TCP segment's size, so packets cross chunk boundaries as on a socket. */
export const CHUNK = 1460;
/** The decoder's and encoder's largest packet: above every case. */
const MAX_PACKET = 65536;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function publishCase(qos: QoS, size: number, label: string): CodecCase {
  const packets: Packet[] = [];
  // Eight messages on different topics and ids, so that nothing is cached by accident.
  for (let i = 0; i < 8; i++) {
    packets.push({
      type: PUBLISH,
      topic: `sensors/device-${i}/temperature`,
      payload: bytes(size, i),
      qos,
      retain: false,
      dup: false,
      packetId: qos > 0 ? i + 1 : undefined,
    });
  }
  return { name: `PUBLISH QoS ${qos} ${label}`, version: 4, packets };
}

/** One of every packet type of MQTT 5.0, with the properties a real session carries. */
function mixedCase(): CodecCase {
  const id = 42;
  return {
    name: "mixed, all types (5.0)",
    version: 5,
    packets: [
      {
        type: CONNECT,
        protocolVersion: 5,
        clientId: "tether-0123456789ab",
        cleanStart: true,
        keepAlive: 60,
        username: "device",
        password: bytes(16, 1),
        will: { topic: "tether/0123456789ab/status", payload: bytes(8, 2), qos: 1, retain: true },
        properties: { sessionExpiryInterval: 3600, receiveMaximum: 32, maximumPacketSize: 16384 },
      },
      {
        type: CONNACK,
        sessionPresent: false,
        reasonCode: 0,
        properties: { receiveMaximum: 100, topicAliasMaximum: 10, serverKeepAlive: 60 },
      },
      {
        type: PUBLISH,
        topic: "tether/0123456789ab/telemetry",
        payload: bytes(64, 3),
        qos: 1,
        retain: false,
        dup: false,
        packetId: id,
        properties: { messageExpiryInterval: 300, contentType: "application/json" },
      },
      { type: PUBACK, packetId: id, reasonCode: 0 },
      { type: PUBREC, packetId: id, reasonCode: 0 },
      { type: PUBREL, packetId: id, reasonCode: 0 },
      { type: PUBCOMP, packetId: id, reasonCode: 0 },
      {
        type: SUBSCRIBE,
        packetId: id,
        subscriptions: [
          { topicFilter: "tether/0123456789ab/cmd", qos: 1 },
          { topicFilter: "fleet/+/config", qos: 0 },
        ],
      },
      { type: SUBACK, packetId: id, reasonCodes: [1, 0] },
      { type: UNSUBSCRIBE, packetId: id, topicFilters: ["fleet/+/config"] },
      { type: UNSUBACK, packetId: id, reasonCodes: [0] },
      { type: PINGREQ },
      { type: PINGRESP },
      { type: DISCONNECT, reasonCode: 0 },
      {
        type: AUTH,
        reasonCode: 0x18,
        properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: bytes(20, 4) },
      },
    ],
  };
}

export function codecCases(): CodecCase[] {
  const cases: CodecCase[] = [];
  for (const qos of [0, 1] as const) {
    cases.push(publishCase(qos, 16, "16 B"), publishCase(qos, 256, "256 B"), publishCase(qos, 4096, "4 KB"));
  }
  cases.push(mixedCase());
  return cases;
}

/** Runs `pass` (which handles some packets and returns how many) until `ms` have passed; packets per second. */
export function rate(pass: () => number, ms: number, now: () => number): number {
  let packets = 0;
  const start = now();
  let elapsed = 0;
  // Bounded: a pass takes at least one clock tick's worth of work sooner or later, and 1e6 passes is far beyond it.
  for (let i = 0; i < 1e6 && elapsed < ms; i++) {
    packets += pass();
    elapsed = now() - start;
  }
  return (packets * 1000) / Math.max(elapsed, 1e-3);
}

/** The case's packets encoded back to back, cut into CHUNK-sized pieces. */
export function encodedChunks(c: CodecCase): Uint8Array[] {
  const encoder = new Encoder(512, MAX_PACKET);
  const parts: number[] = [];
  for (const packet of c.packets) {
    const encoded = encoder.encode(packet, c.version);
    if (encoded instanceof CodecError) throw new Error(`${c.name}: ${encoded.message}`);
    for (const b of encoded) parts.push(b);
  }
  const stream = Uint8Array.from(parts);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.slice(at, at + CHUNK));
  return chunks;
}

/**
 * Each packet encoded and copied out of the encoder's reused buffer, the copy a caller makes before the next
 * encode overwrites it (mqtt-packet's generate allocates a Buffer per packet, so its side has that cost built in).
 */
export function tetherEncodeRate(c: CodecCase, ms: number, now: () => number): number {
  const encoder = new Encoder(512, MAX_PACKET);
  let copied = 0;
  const perSecond = rate(
    () => {
      for (const packet of c.packets) {
        const encoded = encoder.encode(packet, c.version);
        if (encoded instanceof CodecError) throw new Error(`${c.name}: ${encoded.message}`);
        copied += encoded.slice().length;
      }
      return c.packets.length;
    },
    ms,
    now,
  );
  // The copies' sizes are used, so no engine can drop them as dead code.
  if (copied === 0) throw new Error(`${c.name}: nothing encoded`);
  return perSecond;
}

export function tetherDecodeRate(c: CodecCase, ms: number, now: () => number): number {
  const chunks = encodedChunks(c);
  const decoder = new Decoder(c.version, MAX_PACKET);
  return rate(
    () => {
      let n = 0;
      for (const chunk of chunks) {
        decoder.push(chunk);
        for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
          if (p instanceof CodecError) throw new Error(`${c.name}: ${p.message}`);
          n++;
        }
      }
      return n;
    },
    ms,
    now,
  );
}
