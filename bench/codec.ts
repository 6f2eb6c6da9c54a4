// Codec throughput: Tether's Encoder/Decoder against mqtt-packet's generate/parser on Node, same process, same
// packets, same chunking; then Tether's codec inside XS (xsnap), timed there. The three alternate, after a warm-up.
import * as mqttPacket from "mqtt-packet";
import { startXs } from "../test/helpers/xs";
import { toMp } from "../test/mqtt/mqtt-packet-shape";
import {
  CHUNK,
  type CodecCase,
  codecCases,
  encodedChunks,
  rate,
  tetherDecodeRate,
  tetherEncodeRate,
} from "./codec-cases";
import { alternate, type Row } from "./stats";

/** On every encode row: the copy is explained at tetherEncodeRate. */
const ENCODE_NOTE =
  "Tether (Node and XS) includes a copy of each packet (slice()) out of its encoder's reused buffer, as its hosts " +
  "copy before writing; mqtt-packet's generate allocates a Buffer per packet";

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
    c.packets.map((p) =>
      mqttPacket.generate(toMp(p, c.version) as unknown as mqttPacket.Packet, { protocolVersion: c.version }),
    ),
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
      const peer = c.packets.map((p) => toMp(p, c.version) as unknown as mqttPacket.Packet);
      // mqtt-packet reads its own encoding: its parser takes the byte after a bare 5.0 DISCONNECT (e0 00, the short
      // form Tether sends) for the DISCONNECT's reason code when another packet follows in the same chunk.
      const peerStream = Buffer.concat(peer.map((p) => mqttPacket.generate(p, { protocolVersion: c.version })));
      const chunks: Buffer[] = [];
      for (let at = 0; at < peerStream.length; at += CHUNK) chunks.push(peerStream.subarray(at, at + CHUNK));
      for (const op of ["encode", "decode"] as const) {
        const [tether, mqttjs, inXs] = await alternate(reps, [
          () => (op === "encode" ? tetherEncodeRate(c, ms, now) : tetherDecodeRate(c, ms, now)),
          () => (op === "encode" ? peerEncodeRate(peer, c.version, ms) : peerDecodeRate(chunks, c.version, ms)),
          () => xs.call<number>({ index, op, ms }),
        ]);
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
        if (op === "encode") row.note = ENCODE_NOTE;
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
