import { formatBudgets, formatStats, RttSeries, Stats } from "tether/diag/stats";

describe("RttSeries", () => {
  test("is all zeros when empty", () => {
    expect(new RttSeries(4).summary()).toEqual({ n: 0, min: 0, mean: 0, max: 0, p95: 0 });
    expect(new RttSeries(4).last()).toBe(0);
  });

  test("min, mean, max and nearest-rank p95", () => {
    const series = new RttSeries(100);
    for (let i = 1; i <= 100; i++) series.add(101 - i);
    expect(series.summary()).toEqual({ n: 100, min: 1, mean: 51, max: 100, p95: 95 });
    expect(series.last()).toBe(1);
  });

  test("keeps only the last N samples", () => {
    const series = new RttSeries(3);
    for (const ms of [1000, 900, 10, 20, 30]) series.add(ms);
    expect(series.summary()).toEqual({ n: 3, min: 10, mean: 20, max: 30, p95: 30 });
    expect(series.last()).toBe(30);
  });

  test("a summary does not disturb the ring", () => {
    const series = new RttSeries(4);
    for (const ms of [40, 10, 30]) series.add(ms);
    series.summary();
    series.add(20);
    expect(series.last()).toBe(20);
    expect(series.summary()).toEqual({ n: 4, min: 10, mean: 25, max: 40, p95: 40 });
  });
});

describe("Stats", () => {
  test("connection counters, uptimes and failures by code", () => {
    const stats = new Stats();
    stats.attempt();
    stats.failed(100, "tcp_refused");
    stats.attempt();
    stats.connected(1000, 35);
    expect(stats.uptime(5000)).toBe(4000);
    stats.failed(11000, "keepalive_timeout");
    expect(stats.uptime(12000)).toBe(0);
    stats.attempt();
    stats.connected(20000, 45);
    expect(stats.longest(25000)).toBe(10000);
    expect(stats.longest(40000)).toBe(20000);
    stats.closed(41000);
    stats.attempt();
    stats.failed(42000, "tcp_refused");
    const s = stats.snapshot(50000);
    // Four attempts: two accepted, two refused; one accepted connection lost to a keep-alive timeout. They add up.
    expect(s).toMatchObject({
      attempts: 4,
      successes: 2,
      failures: 2,
      lost: 1,
      failuresByCode: { tcp_refused: 2, keepalive_timeout: 1 },
      uptime: 0,
      longest: 21000,
      connect: { n: 2, min: 35, mean: 40, max: 45, p95: 45 },
    });
  });

  test("traffic per QoS, queue, drops, retransmissions, heap", () => {
    const stats = new Stats();
    stats.received(0, 20);
    stats.received(1, 30);
    stats.received(1, 40);
    stats.sent(2, 100);
    stats.retransmitted();
    stats.queue(5);
    stats.queue(2);
    stats.dropped();
    stats.dropped(3);
    stats.heap(50000, 60000);
    stats.heap(40000, 0);
    for (const ms of [10, 20, 30]) stats.pingRtt(ms);
    const s = stats.snapshot(0);
    expect(s.in).toEqual({ messages: [1, 2, 0], bytes: [20, 70, 0] });
    expect(s.out).toEqual({ messages: [0, 0, 1], bytes: [0, 0, 100] });
    expect(s).toMatchObject({
      retransmissions: 1,
      queueDepth: 2,
      queuePeak: 5,
      drops: 4,
      heapUsed: 40000,
      heapPeak: 60000,
    });
    expect(s.ping).toEqual({ n: 3, min: 10, mean: 20, max: 30, p95: 30 });
    // A snapshot is a copy: later traffic does not change it.
    stats.received(0, 1);
    expect(s.in.messages[0]).toBe(1);
    expect(stats.beacon(0)).toEqual({
      up: 0,
      att: 0,
      ok: 0,
      fail: 0,
      lost: 0,
      rtt: 20,
      p95: 30,
      in: 4,
      out: 1,
      retx: 1,
      q: 2,
      drop: 4,
      heap: 40000,
    });
  });

  test("formats compact key=value lines for the console", () => {
    const stats = new Stats(8);
    stats.attempt();
    stats.connected(100, 12);
    stats.failed(600, "tcp_reset");
    stats.pingRtt(7);
    stats.sent(1, 33);
    stats.fault(true);
    stats.fault(false);
    expect(formatStats(stats.snapshot(1000))).toEqual([
      "conn attempts=1 ok=1 failed=0 lost=1 up=0 longest=500",
      "failures tcp_reset=1",
      "rtt.ping n=1 min=7 mean=7 max=7 p95=7",
      "rtt.connect n=1 min=12 mean=12 max=12 p95=12",
      "in q0=0 q1=0 q2=0 bytes.q0=0 bytes.q1=0 bytes.q2=0",
      "out q0=0 q1=1 q2=0 bytes.q0=0 bytes.q1=33 bytes.q2=0",
      "queue depth=0 peak=0 drops=0 retransmissions=0",
      "faults total=2 poison=1",
      "heap used=0 peak=0",
      "remote run=0 refused=0 unanswered=0 sender_oversized=0 sender_denied=0",
    ]);
  });

  test("formats the budgets with the flash wear estimate", () => {
    expect(
      formatBudgets({
        flash: { budget: 120, writes: 3, deletes: 1, refused: 0, rejected: 2 },
        serial: { budget: 20, printed: 40, held: 4980 },
        history: { budget: 16, written: 5, repeats: 31, held: 0 },
        remote: 30,
      }),
    ).toEqual([
      "budget.flash per_hour=120 wear_years=24 writes=3 deletes=1 refused=0 rejected=2",
      "budget.serial per_second=20 printed=40 held=4980",
      "budget.history per_hour=16 written=5 repeats=31 held=0",
      "budget.remote per_minute=30",
    ]);
  });
});
