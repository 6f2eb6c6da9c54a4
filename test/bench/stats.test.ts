// The bench's run order and its Node host's timers: what the published figures rest on.
import { NodeHost } from "../../bench/node-host";
import { alternate } from "../../bench/stats";

/** One full turn of Node's event loop (an immediate queued now runs after the ones queued before it). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("alternate", () => {
  it("runs a discarded warm-up of each subject, then rounds in rotated order", async () => {
    const order: string[] = [];
    let run = 0;
    // Each sample is the run's position, so the warm-up's (0-2) must not appear in any result.
    const subject = (name: string) => () => {
      order.push(name);
      return run++;
    };
    const [a, b, c] = await alternate(3, [subject("a"), subject("b"), subject("c")]);
    expect(order.join("")).toBe("abc" + "abc" + "bca" + "cab");
    expect(a.samples).toEqual([3, 8, 10]);
    expect(b.samples).toEqual([4, 6, 11]);
    expect(c.samples).toEqual([5, 7, 9]);
    expect(a.median).toBe(8);
    expect([a.min, a.max]).toEqual([3, 10]);
  });

  it("waits for each asynchronous run before the next", async () => {
    let running = 0;
    let most = 0;
    const slow = async () => {
      most = Math.max(most, ++running);
      await turn();
      running--;
      return 1;
    };
    await alternate(2, [slow, slow]);
    expect(most).toBe(1);
  });
});

describe("NodeHost timers", () => {
  it("fires a 0 ms timer on the next turn, once, and a rescheduled one at its new time only", async () => {
    const host = new NodeHost();
    let fired = 0;
    const timer = host.timer(() => fired++);
    timer.schedule(60000);
    timer.schedule(0);
    await turn();
    expect(fired).toBe(1);
    await turn();
    expect(fired).toBe(1);
    host.dispose();
  });

  it("does not fire a cancelled timer or one its host disposed of", async () => {
    const host = new NodeHost();
    let fired = 0;
    const cancelled = host.timer(() => fired++);
    cancelled.schedule(0);
    cancelled.cancel();
    host.timer(() => fired++).schedule(0);
    host.timer(() => fired++).schedule(1);
    host.dispose();
    await turn();
    // Past the 1 ms timer's due time: that it did not fire is no event to wait for.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fired).toBe(0);
  });
});
