// The meter's peer: Moddable's own mqtt module, read from the SDK, on the fake socket, timer and time modules of
// bench/xs/moddable/, in xsnap. Its counts are the same run to run, and every message is through (bench/meter.ts
// checks each batch: all published or delivered, the bytes written).
import { peerCounts } from "../../bench/meter";
import { requireSdk } from "../../tools/rigs/moddable";

test("Moddable's mqtt module publishes and receives QoS 0 on the fakes, the same computrons every run", async () => {
  requireSdk();
  const first = await peerCounts(200);
  const second = await peerCounts(200);
  expect(first).toBeDefined();
  expect([...first!.keys()]).toEqual(["publish QoS 0, 64 B, drop-in Client", "receive QoS 0, 64 B, drop-in Client"]);
  for (const count of first!.values()) expect(count).toBeGreaterThan(0);
  expect(second).toEqual(first);
});
