// Codec throughput: Tether's Encoder/Decoder against mqtt-packet's generate/parser on Node, same process, same
// packets, same chunking; then Tether's codec inside XS (xsnap), timed there.
import * as mqttPacket from "mqtt-packet";
import { PACKET_NAMES, type Packet, type Properties } from "tether/mqtt/packets";
import { startXs } from "../test/helpers/xs";
import {
  CHUNK,
  type CodecCase,
  codecCases,
  encodedChunks,
  rate,
  tetherDecodeRate,
  tetherEncodeRate,
} from "./codec-cases";
import { type Row, repeat } from "./stats";

function props(p: Properties | undefined): Record<string, unknown> | undefined {
  if (p === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    out[key] = value instanceof Uint8Array ? Buffer.from(value) : value;
  }
  return out;
}

/** The same packet in mqtt-packet's shape. */
export function toMqttPacket(p: Packet): mqttPacket.Packet {
  const base = { cmd: PACKET_NAMES[p.type].toLowerCase() } as Record<string, unknown>;
  switch (p.type) {
    case 1:
      return {
        ...base,
        protocolId: "MQTT",
        protocolVersion: p.protocolVersion,
        clean: p.cleanStart,
        clientId: p.clientId,
        keepalive: p.keepAlive,
        username: p.username,
        password: p.password && Buffer.from(p.password),
        will: p.will && {
          topic: p.will.topic,
          payload: Buffer.from(p.will.payload),
          qos: p.will.qos,
          retain: p.will.retain,
          properties: props(p.will.properties),
        },
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 2:
      return {
        ...base,
        sessionPresent: p.sessionPresent,
        returnCode: p.reasonCode,
        reasonCode: p.reasonCode,
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 3:
      return {
        ...base,
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 4:
    case 5:
    case 6:
    case 7:
      return {
        ...base,
        messageId: p.packetId,
        reasonCode: p.reasonCode,
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 8:
      return {
        ...base,
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topicFilter, qos: s.qos })),
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 9:
    case 11:
      return {
        ...base,
        messageId: p.packetId,
        granted: p.reasonCodes,
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 10:
      return {
        ...base,
        messageId: p.packetId,
        unsubscriptions: p.topicFilters,
        properties: props(p.properties),
      } as mqttPacket.Packet;
    case 12:
    case 13:
      return base as unknown as mqttPacket.Packet;
    default:
      return { ...base, reasonCode: p.reasonCode, properties: props(p.properties) } as mqttPacket.Packet;
  }
}

function peerEncodeRate(packets: mqttPacket.Packet[], version: number, ms: number): number {
  const opts = { protocolVersion: version };
  return rate(
    () => {
      for (const packet of packets) mqttPacket.generate(packet, opts);
      return packets.length;
    },
    ms,
    () => performance.now(),
  );
}

function peerDecodeRate(chunks: Buffer[], version: number, ms: number): number {
  const parser = mqttPacket.parser({ protocolVersion: version });
  let n = 0;
  parser.on("packet", () => n++);
  parser.on("error", (error) => {
    throw error;
  });
  return rate(
    () => {
      const before = n;
      for (const chunk of chunks) parser.parse(chunk);
      return n - before;
    },
    ms,
    () => performance.now(),
  );
}

/** Packets whose two encodings differ: the comparison is only fair when this is empty. */
export function encodingMismatches(c: CodecCase): string[] {
  const ours = Buffer.concat(encodedChunks(c));
  const theirs = Buffer.concat(
    c.packets.map((p) => mqttPacket.generate(toMqttPacket(p), { protocolVersion: c.version })),
  );
  return ours.equals(theirs) ? [] : [`${c.name}: ${ours.length} bytes vs ${theirs.length} from mqtt-packet`];
}

export interface CodecOptions {
  reps: number;
  /** Duration of one measurement, ms. */
  ms: number;
  log: (line: string) => void;
}

export async function codecBench({ reps, ms, log }: CodecOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const cases = codecCases();
  const xs = await startXs("bench/xs/codec.ts");
  const now = () => performance.now();
  try {
    for (const [index, c] of cases.entries()) {
      for (const mismatch of encodingMismatches(c)) log(`  note: encodings differ: ${mismatch}`);
      const peer = c.packets.map(toMqttPacket);
      // mqtt-packet reads its own encoding: its parser takes the byte after a bare 5.0 DISCONNECT (e0 00, the short
      // form Tether sends) for the DISCONNECT's reason code when another packet follows in the same chunk.
      const peerStream = Buffer.concat(peer.map((p) => mqttPacket.generate(p, { protocolVersion: c.version })));
      const chunks: Buffer[] = [];
      for (let at = 0; at < peerStream.length; at += CHUNK) chunks.push(peerStream.subarray(at, at + CHUNK));
      for (const op of ["encode", "decode"] as const) {
        const tether = await repeat(reps, () =>
          op === "encode" ? tetherEncodeRate(c, ms, now) : tetherDecodeRate(c, ms, now),
        );
        const mqttjs = await repeat(reps, () =>
          op === "encode" ? peerEncodeRate(peer, c.version, ms) : peerDecodeRate(chunks, c.version, ms),
        );
        const inXs = await repeat(reps, () => xs.call<number>({ index, op, ms }));
        const row: Row = {
          section: "Codec",
          name: `${op} ${c.name}`,
          unit: "packets/s",
          higherIsBetter: true,
          values: [
            ["Tether (Node)", tether],
            ["mqtt-packet", mqttjs],
            ["Tether (XS)", inXs],
          ],
        };
        const ratio = tether.median / mqttjs.median;
        row.goal = { text: "at least 2x mqtt-packet", met: ratio >= 2 };
        rows.push(row);
        log(
          `  ${row.name}: ${Math.round(tether.median)} vs ${Math.round(mqttjs.median)} (${ratio.toFixed(2)}x), ` +
            `XS ${Math.round(inXs.median)}`,
        );
      }
    }
  } finally {
    await xs.close();
  }
  return rows;
}
