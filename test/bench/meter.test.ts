// The meter bench counts the same computrons every run: two fresh engines, the same figures.
import { METER_CASES, type MeterCount, meterCounts } from "../../bench/meter";

const perMessage = (counts: MeterCount[], op: string, qos: number) =>
  counts.find((c) => c.op === op && c.qos === qos)!.perMessage;

test("computrons per message are the same run to run, nonzero, and QoS 1 costs more than QoS 0", async () => {
  const first = await meterCounts();
  const second = await meterCounts();
  expect(second).toEqual(first);
  expect(first.counts.map((c) => c.name)).toEqual(METER_CASES.map((c) => c.name));
  for (const c of first.counts) expect(c.perMessage).toBeGreaterThan(0);
  expect(perMessage(first.counts, "publish", 1)).toBeGreaterThan(perMessage(first.counts, "publish", 0));
  // The drop-in does more than the codec it uses.
  expect(perMessage(first.counts, "publish", 0)).toBeGreaterThan(perMessage(first.counts, "encode", 0));
  expect(perMessage(first.counts, "receive", 0)).toBeGreaterThan(perMessage(first.counts, "decode", 0));
});
