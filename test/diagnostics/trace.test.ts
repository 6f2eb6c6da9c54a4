// The packet trace of the real firmware in XS against aedes: one line per packet, in place, however alike. The
// log's rate limit (a line identical to a recent one is held back and counted) must never reach it.

import { type Aedes, startAedes } from "../../tools/rigs/aedes";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
let aedes: Aedes;

beforeAll(async () => {
  aedes = await startAedes();
});

afterAll(async () => {
  await aedes?.stop();
});

test("identical packets are each traced at once, between the lines around them, never summed up", async () => {
  const device = await boot({ broker: aedes.url, clientId: uniqueId("trace") });
  await device.waitForLine(/ I mqtt subscribed /);
  await device.command("trace on", /trace on/);
  const from = device.output.length;
  for (let i = 1; i <= 3; i++) await device.command("pub trace/same again 0", /pub sent/);
  // Each command's output follows its own packet's trace line: three of each, alternating.
  const lines = device.lines(from).filter((line) => / I trace out | pub /.test(line));
  expect(lines.map((line) => line.replace(/^\d+ /, ""))).toEqual(
    Array(3).fill(["I trace out type=PUBLISH size=19 qos=0 topic=trace/same payload=again", "| pub sent"]).flat(),
  );
  device.expectNames([]);
});
