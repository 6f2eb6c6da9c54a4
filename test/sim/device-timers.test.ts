// The simulated device's timer list, on Node's real timers with a clock the test moves: what order timers fire in
// must not depend on how fast the machine answered the requests that set them.

import { readFile } from "node:fs";
import { DeviceTimers } from "../../hosts/sim/node/device-timers";
import { armTimer } from "../../hosts/sim/node/timer";

/** A device's timers whose firings are recorded; each firing is a command, which ends with endTurn as on a device. */
function recorder(clock: () => number) {
  const fired: number[] = [];
  const waiters: (() => void)[] = [];
  const timers = new DeviceTimers((id) => {
    fired.push(id);
    for (const wake of waiters.splice(0)) wake();
    queueMicrotask(() => timers.endTurn());
  }, clock);
  const firings = async (count: number) => {
    while (fired.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return fired;
  };
  return { timers, fired, firings };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("device timers", () => {
  test("deadlines count from the command's start: a request that reached Node late does not reorder them", async () => {
    let now = 1000;
    const { timers, firings } = recorder(() => now);
    timers.set(1, 30);
    now += 20; // the next request of the same command crossed the pipe 20 ms later
    timers.set(2, 25);
    timers.set(3, 0);
    timers.endTurn();
    expect(await firings(3)).toEqual([3, 2, 1]);
  });

  test("timers with one deadline fire in the order they were set", async () => {
    const { timers, firings } = recorder(() => 0);
    for (const id of [4, 2, 9, 1]) timers.set(id, 5);
    timers.endTurn();
    expect(await firings(4)).toEqual([4, 2, 9, 1]);
  });

  test("a 0 ms timer waits for the end of the command that set it", async () => {
    const { timers, fired, firings } = recorder(() => 0);
    timers.set(1, 0);
    await nextTurn();
    await nextTurn();
    expect(fired).toEqual([]);
    timers.endTurn();
    expect(await firings(1)).toEqual([1]);
  });

  test("a cleared timer never fires, one set again fires once at its new time, halt stops them all", async () => {
    let now = 0;
    const { timers, firings } = recorder(() => now);
    timers.set(1, 0);
    timers.set(2, 0);
    timers.set(3, 5);
    timers.clear(2);
    timers.set(1, 10);
    timers.endTurn();
    expect(await firings(2)).toEqual([3, 1]);
    now = 100;
    timers.set(4, 0);
    timers.halt();
    // Were 4 still armed, it would fire ahead of 5: same deadline, set first.
    timers.set(5, 0);
    timers.endTurn();
    expect(await firings(3)).toEqual([3, 1, 5]);
  });
});

describe("armTimer", () => {
  test("a 0 ms timer runs on the next turn, ahead of a 1 ms timeout set with it", async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      // Inside an I/O callback Node's order is defined: the check phase (setImmediate) comes before timers.
      readFile(__filename, () => {
        armTimer(() => order.push("1 ms"), 1);
        armTimer(() => order.push("0 ms"), 0);
        armTimer(resolve, 2);
      });
    });
    expect(order).toEqual(["0 ms", "1 ms"]);
  });
});
