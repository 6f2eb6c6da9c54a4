// The codec in the engine of the device: the same vectors, replayed inside the real XS engine (xsnap) and in
// Node, must give the same answers, and those answers must be the vectors' expectations.
import { startXs } from "../helpers/xs";
import run from "./fixtures/codec-xs";
import { VECTORS } from "./vectors";

const TOPICS: [string, string][] = [
  ["sport/+/player1", "sport/tennis/player1"],
  ["sport/#", "sport"],
  ["#", "$SYS/uptime"],
  ["+/monitor/Clients", "$SYS/monitor/Clients"],
  ["$SYS/#", "$SYS/uptime"],
  ["a/+", "a/b/c"],
];

test("XS gives the same results as Node for every codec vector", async () => {
  const input = { vectors: VECTORS, topics: TOPICS };
  const inNode = run(input);
  const xs = await startXs("test/mqtt/fixtures/codec-xs.ts");
  try {
    const inXs = await xs.call<ReturnType<typeof run>>(input);
    expect(inXs).toEqual(JSON.parse(JSON.stringify(inNode)));
  } finally {
    await xs.close();
  }

  // And the shared answers are the right ones.
  expect(inNode.matches).toEqual([true, true, false, false, true, false]);
  for (const [i, v] of VECTORS.entries()) {
    const o = inNode.outcomes[i];
    if (v.hex !== undefined) {
      const expected = v.packet !== undefined ? [v.packet] : [{ error: v.error }];
      expect({ name: v.name, decoded: o.decoded }).toEqual({ name: v.name, decoded: expected });
      expect(o.decodedByteByByte).toEqual(o.decoded);
    }
    if (v.packet !== undefined && !v.decodeOnly) {
      expect({ name: v.name, encoded: o.encoded }).toEqual({ name: v.name, encoded: v.hex ?? `error:${v.error}` });
    }
  }
});
