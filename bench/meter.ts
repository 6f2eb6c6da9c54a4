// xsnap's deterministic meter: computrons (XS's count of the work a delivery did) per message published and received
// through the drop-in Client, and per PUBLISH encoded and decoded by the codec alone, all inside XS on a ManualHost
// (bench/xs/meter.ts): no sockets, no clocks, so the count is the same every run and a regression shows as a
// changed number, not as noise. Each figure is one batch in one delivery, after a warm-up batch, divided by its size.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startXs, type XsEntry } from "../test/helpers/xs";
import { SDK } from "../tools/rigs/moddable";
import type { Goal, Row } from "./stats";
import { stat } from "./stats";
import type { MeterInput, MeterOp, MeterOutput } from "./xs/meter-workload";

/** Messages per measured batch (and per warm-up batch). */
export const METER_BATCH = 1000;

export interface MeterCase {
  op: MeterOp;
  qos: 0 | 1;
  name: string;
}

export const METER_CASES: MeterCase[] = [
  { op: "publish", qos: 0, name: "publish QoS 0, 64 B, drop-in Client" },
  { op: "publish", qos: 1, name: "publish QoS 1, 64 B, drop-in Client (PUBACK fed back)" },
  { op: "receive", qos: 0, name: "receive QoS 0, 64 B, drop-in Client" },
  { op: "receive", qos: 1, name: "receive QoS 1, 64 B, drop-in Client (PUBACK sent)" },
  { op: "encode", qos: 0, name: "encode PUBLISH QoS 0, 64 B, codec alone" },
  { op: "encode", qos: 1, name: "encode PUBLISH QoS 1, 64 B, codec alone" },
  { op: "decode", qos: 0, name: "decode PUBLISH QoS 0, 64 B, codec alone" },
  { op: "decode", qos: 1, name: "decode PUBLISH QoS 1, 64 B, codec alone" },
];

export interface MeterCount extends MeterCase {
  /** Computrons of the measured delivery over the messages in it. */
  perMessage: number;
}

export interface MeterResult {
  counts: MeterCount[];
  /** Computrons of a delivery with an empty batch: the call's own cost, spread over the batch in every figure. */
  overhead: number;
}

/** Fails unless the batch did what it is counted for: every message through, QoS 1 all acknowledged, no warning. */
function check(c: MeterCase, batch: number, out: MeterOutput): void {
  const problems: string[] = [];
  if (out.messages !== batch) problems.push(`${out.messages} of ${batch} messages`);
  // A PUBLISH of 64 B is more than 64 B; a QoS 1 message received is answered with a 4-byte PUBACK.
  const exact = c.op === "receive" || c.op === "decode" || c.op === "idle";
  const wanted = c.op === "receive" ? (c.qos ? 4 * batch : 0) : exact ? 0 : 66 * batch;
  if (exact ? out.written !== wanted : out.written < wanted) {
    problems.push(`${out.written} bytes written`);
  }
  if (out.inflight !== 0) problems.push(`${out.inflight} unacknowledged`);
  if (out.serial) problems.push(`the client said: ${out.serial.trim()}`);
  if (problems.length) throw new Error(`meter: ${c.name}: ${problems.join("; ")}`);
}

async function computrons(xs: XsEntry, input: MeterInput): Promise<{ compute: number; out: MeterOutput }> {
  const out = await xs.call<MeterOutput>(input);
  const compute = xs.meter?.compute;
  if (!compute) throw new Error("xsnap reported no compute meter");
  return { compute, out };
}

/**
 * Computrons per message of `cases` in one engine: a warm-up batch of each, then the measured one. Publish and
 * receive move the harness's clock 1 ms a message, which runs its timer list: that cost, measured alone (`idle`), is
 * taken off them, so that what is counted is the client's work, not the harness's (a device's timers cost nothing
 * while none is due).
 */
async function countCases(xs: XsEntry, cases: MeterCase[], batch: number): Promise<MeterCount[]> {
  const batchOf = async (c: MeterCase): Promise<number> => {
    const input = { op: c.op, qos: c.qos, count: batch };
    check(c, batch, (await computrons(xs, input)).out);
    const { compute, out } = await computrons(xs, input);
    check(c, batch, out);
    return compute;
  };
  const idle = await batchOf({ op: "idle", qos: 0, name: "the harness alone" });
  const counts: MeterCount[] = [];
  for (const c of cases) {
    const compute = await batchOf(c);
    const harness = c.op === "publish" || c.op === "receive" ? idle : 0;
    counts.push({ ...c, perMessage: (compute - harness) / batch });
  }
  return counts;
}

/** Every case in one fresh engine (countCases), and the cost of a call with no messages. */
export async function meterCounts(batch = METER_BATCH): Promise<MeterResult> {
  const xs = await startXs("bench/xs/meter.ts");
  try {
    const counts = await countCases(xs, METER_CASES, batch);
    const overhead = (await computrons(xs, { op: "encode", qos: 0, count: 0 })).compute;
    return { counts, overhead };
  } finally {
    await xs.close();
  }
}

/** Moddable's own mqtt module, read from the SDK where one is (never copied into this project). */
const MODDABLE_MQTT = join(SDK, "modules/network/mqtt/mqtt.js");
/** The SDK modules it imports, faked for xsnap (bench/xs/moddable/). */
const FAKES = Object.fromEntries(
  ["socket", "timer", "time", "websocket"].map((m) => [m, `./bench/xs/moddable/${m}.ts`]),
);

/** The cases with a peer, and the issue's goal for each: Tether's count over Moddable's at most this. */
const PEER_GOALS: Partial<Record<string, number>> = { "publish 0": 1.5, "receive 0": 1 };

/** Moddable's module on the same workload (bench/xs/moddable-meter.ts), by case, or undefined without an SDK. */
export async function peerCounts(batch = METER_BATCH): Promise<Map<string, number> | undefined> {
  if (!existsSync(MODDABLE_MQTT)) return undefined;
  const xs = await startXs("bench/xs/moddable-meter.ts", { "moddable-mqtt": MODDABLE_MQTT, ...FAKES });
  try {
    const cases = METER_CASES.filter((c) => PEER_GOALS[`${c.op} ${c.qos}`] !== undefined);
    return new Map((await countCases(xs, cases, batch)).map((c) => [c.name, c.perMessage]));
  } finally {
    await xs.close();
  }
}

export async function meterBench(log: (line: string) => void): Promise<Row[]> {
  const { counts, overhead } = await meterCounts();
  const peer = await peerCounts();
  const note =
    `one delivery of ${METER_BATCH.toLocaleString("en-US")} messages after a warm-up one, divided: the delivery's ` +
    `own ${overhead.toLocaleString("en-US")} computrons are negligible. Moddable's mqtt module (from the SDK, where ` +
    "one is built) on fakes of the SDK's socket, timer and time modules, for QoS 0: the same topics, payload and " +
    "schedule; each figure less its harness's own work (moving the fake clock, measured alone)";
  return counts.map((c) => {
    const theirs = peer?.get(c.name);
    log(`  ${c.name}: ${c.perMessage} computrons${theirs === undefined ? "" : `, Moddable's ${theirs}`}`);
    const values: Row["values"] = [["Tether (xsnap)", stat([c.perMessage])]];
    let goal: Goal | undefined;
    if (theirs !== undefined) {
      values.push(["Moddable mqtt (xsnap)", stat([theirs])]);
      const factor = PEER_GOALS[`${c.op} ${c.qos}`]!;
      const ratio = c.perMessage / theirs;
      goal = { text: `<= ${factor}x Moddable's (now ${ratio.toFixed(2)}x)`, met: ratio <= factor };
    }
    return {
      section: "Meter (xsnap, deterministic)",
      name: c.name,
      unit: "computrons",
      higherIsBetter: false,
      values,
      goal,
      note,
    };
  });
}
