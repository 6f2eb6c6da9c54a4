// low_memory from real heap growth: the device's heap, as XS counts it, grows with every message held in the
// offline queue; with a heap budget (heapLimit) a little above what the device uses at rest, queueing messages
// while the broker is unreachable crosses 90% of it, and the device says so once.

import { freePort } from "../helpers/mosquitto";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;

test("low_memory: the offline queue grows the heap past 90% of the budget", async () => {
  const port = await freePort();
  const device = await boot({
    broker: `mqtt://127.0.0.1:${port}`,
    clientId: uniqueId("heap"),
    queueCount: "100000",
    queueBytes: "16777216",
    backoffBase: "1000",
    backoffCap: "1000",
  });
  await device.waitForCode("tcp_refused");
  const [, used] = /heap_used=(\d+)/.exec((await device.command("status", /heap_used=/)).join("\n"))!;
  const limit = Math.round(Number(used) * 1.15);
  await device.command(`config set heapLimit ${limit}`, /heapLimit=/);
  let queued = 0;
  for (; queued < 3000 && !device.output.includes(" diag low_memory "); queued++) {
    await device.command(`pub tether/test/${queued} "a reading of the sensor, queued while offline" 1`, /pub /);
  }
  const line = await device.waitForCode("low_memory", 20000);
  expect(Number(line.fields.limit)).toBe(limit);
  expect(Number(line.fields.used)).toBeGreaterThan(limit * 0.9);
  expect(queued).toBeGreaterThan(10);
  // Reported once for the episode, not on every heap check (once a second): two more retries, a second apart,
  // see at least one more check.
  const more = device.output.length;
  await device.command("pub tether/test/more x 1", /pub queued/);
  const attempts = device.logs().filter((line) => line.event === "connecting").length;
  await device.waitForLines(/ I mqtt connecting /, attempts + 2, 20000);
  expect(device.failures(more).filter((f) => f.event === "low_memory")).toEqual([]);
  device.expectNames(["low_memory", "tcp_refused"]);
});
