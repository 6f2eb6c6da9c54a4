import {
  KeepAliveTuner,
  RAISE_STEP,
  TUNER_DEFAULTS,
  type TunerConfig,
  validateTuner,
} from "tether/client/keepalive-tuner";

const HOUR = 3600000;

function tuner(over: Partial<TunerConfig> = {}): KeepAliveTuner {
  return new KeepAliveTuner({ ...TUNER_DEFAULTS, keepAlive: 120, ...over });
}

/** One connection that lived `up` ms and ended with `cause` after `idle` ms of silence; returns the change reason. */
function life(t: KeepAliveTuner, clock: { now: number }, up: number, cause: string, idle: number): string | undefined {
  t.connected(clock.now);
  clock.now += up;
  return t.ended(clock.now, cause, idle);
}

describe("validateTuner", () => {
  test("the defaults are valid", () => {
    expect(validateTuner({ ...TUNER_DEFAULTS, keepAlive: 60 })).toBeUndefined();
    expect(validateTuner({ ...TUNER_DEFAULTS, keepAlive: 0 })).toBeUndefined();
  });

  test.each([
    [{ keepAlive: -1 }, /^keepAlive \(s\) must be an integer from 0 to 65535 \(got -1\)/],
    [{ keepAlive: 70000 }, /^keepAlive/],
    [{ min: 0 }, /^keepAliveMin/],
    [{ factor: 1 }, /^keepAliveFactor must be from 0.1 to 0.95 \(got 1\)/],
    [{ samples: 1 }, /^keepAliveSamples/],
    [{ tolerance: 0 }, /^keepAliveTolerance/],
    [{ raiseAfter: 5 }, /^keepAliveRaiseAfter/],
  ])("%j is refused with a message naming the setting", (over, message) => {
    expect(validateTuner({ ...TUNER_DEFAULTS, keepAlive: 60, ...over })).toMatch(message);
  });
});

describe("lowering", () => {
  test("three similar idle deaths below the keep alive lower it to 0.7x the shortest", () => {
    const t = tuner();
    const clock = { now: 0 };
    expect(life(t, clock, 300000, "keepalive_timeout", 62000)).toBeUndefined();
    expect(life(t, clock, 300000, "tcp_reset", 60000)).toBeUndefined();
    expect(t.keepAlive).toBe(120);
    expect(t.natIdleTimeoutSuspected).toBeUndefined();
    const reason = life(t, clock, 300000, "keepalive_timeout", 66000);
    expect(t.keepAlive).toBe(42);
    expect(reason).toBe("keep alive 120 -> 42 s: 3 deaths after 62/60/66 s idle, NAT idle timeout suspected");
    expect(t.natIdleTimeoutSuspected).toEqual({
      idle: [62000, 60000, 66000],
      keepAlive: 42,
      configured: 120,
      belowMin: false,
      late: 0,
    });
    expect(t.conclusions).toBe(1);
  });

  test("pings unanswered at the lowest keep alive count, though the quiet before them is a round trip shorter", () => {
    const t = tuner({ keepAlive: 2, min: 2 });
    const clock = { now: 0 };
    expect(t.minIdle).toBe(1600);
    for (const idle of [1990, 1985, 1995]) expect(life(t, clock, 4000, "keepalive_timeout", idle)).toBeUndefined();
    expect(t.conclusions).toBe(1);
    expect(t.natIdleTimeoutSuspected).toEqual({
      idle: [1990, 1985, 1995],
      keepAlive: 2,
      configured: 2,
      belowMin: true,
      late: 0,
    });
  });

  test("idle deaths that call for less than keepAliveMin: lowered to it, then concluded again without a change", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", 18000);
    expect(t.keepAlive).toBe(TUNER_DEFAULTS.min);
    expect(t.natIdleTimeoutSuspected).toMatchObject({ keepAlive: 15, belowMin: true });
    // The NAT forgets sooner than 15 s: deaths go on at the lowest keep alive the tuner may set.
    const reasons = [];
    for (let i = 0; i < 3; i++) reasons.push(life(t, clock, 1000, "keepalive_timeout", 15000));
    expect(reasons).toEqual([undefined, undefined, undefined]);
    expect(t.conclusions).toBe(2);
    expect(t.natIdleTimeoutSuspected).toEqual({
      idle: [15000, 15000, 15000],
      keepAlive: 15,
      configured: 120,
      belowMin: true,
      late: 0,
    });
  });

  test("deaths at the keep alive itself (the first ping after a quiet period) count", () => {
    const t = tuner({ keepAlive: 60 });
    const clock = { now: 0 };
    for (const idle of [60000, 60010, 59990]) life(t, clock, 200000, "keepalive_timeout", idle);
    expect(t.keepAlive).toBe(41);
  });

  test("idle times that are not similar do not act", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (const idle of [30000, 60000, 90000, 40000, 80000]) life(t, clock, 1000, "keepalive_timeout", idle);
    expect(t.keepAlive).toBe(120);
    expect(t.natIdleTimeoutSuspected).toBeUndefined();
  });

  test("on a late event loop, idle times twice its lateness apart (how late the dials' timers fired) are similar", () => {
    const t = tuner();
    const third = (late: number, on = tuner()) => {
      const clock = { now: 0 };
      return [20000, 25000, 20000].map((idle) => {
        on.connecting(late);
        return life(on, clock, 60000, "tcp_reset", idle);
      })[2];
    };
    // 25 s is more than 20 s and 20%: read on time, not the same idle time.
    expect(third(0)).toBeUndefined();
    expect(third(499)).toBeUndefined();
    expect(third(500, t)).toBe("keep alive 120 -> 15 s: 3 deaths after 20/25/20 s idle, NAT idle timeout suspected");
    // The line that names it says how late the loop ran.
    expect(t.natIdleTimeoutSuspected).toMatchObject({ idle: [20000, 25000, 20000], late: 500 });
  });

  test("the lateness of deaths before a reboot is not kept: they count as read on time", () => {
    const t = tuner();
    const clock = { now: 0 };
    t.connecting(500);
    life(t, clock, 60000, "tcp_reset", 20000);
    life(t, clock, 60000, "tcp_reset", 25000);
    const again = tuner();
    again.restore(t.serialize());
    again.connecting(0);
    expect(life(again, clock, 60000, "tcp_reset", 20000)).toBeUndefined();
    expect(again.keepAlive).toBe(120);
  });

  test("a dissimilar outlier only delays the decision: the latest three are what count", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (const idle of [90000, 50000, 52000]) life(t, clock, 1000, "tcp_reset", idle);
    expect(t.keepAlive).toBe(120);
    life(t, clock, 1000, "tcp_reset", 55000);
    expect(t.keepAlive).toBe(35);
  });

  test("deaths for other causes, or longer idle than the keep alive allows, are not evidence", () => {
    const t = tuner({ keepAlive: 60 });
    const clock = { now: 0 };
    for (let i = 0; i < 5; i++) life(t, clock, 1000, "tcp_refused", 30000);
    for (let i = 0; i < 5; i++) life(t, clock, 1000, "keepalive_timeout", 90000);
    for (let i = 0; i < 5; i++) life(t, clock, 1000, "closed", 30000);
    expect(t.keepAlive).toBe(60);
  });

  test("deaths after less idle than the minimum are no NAT timeout it could fix (the diagnoser names them)", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 5; i++) life(t, clock, 1000, "tcp_reset", 3000);
    expect(t.keepAlive).toBe(120);
    expect(t.natIdleTimeoutSuspected).toBeUndefined();
  });

  test("bounded by the minimum, never above the configured keep alive, and never raised by a death", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", 18000);
    expect(t.keepAlive).toBe(TUNER_DEFAULTS.min);
    const small = tuner({ keepAlive: 10 });
    for (let i = 0; i < 3; i++) life(small, clock, 1000, "keepalive_timeout", 10000);
    expect(small.keepAlive).toBe(10);
    // Lowered to 42 s, then deaths after a longer idle (traffic kept our side's timer busy): no raise.
    const t2 = tuner();
    for (let i = 0; i < 3; i++) life(t2, clock, 1000, "tcp_reset", 60000);
    for (let i = 0; i < 3; i++) life(t2, clock, 1000, "tcp_reset", 110000);
    expect(t2.keepAlive).toBe(42);
  });

  test("it keeps searching downwards while deaths continue at the lowered setting", () => {
    const t = tuner();
    const clock = { now: 0 };
    const seen = [];
    for (let round = 0; round < 4; round++) {
      const idle = t.keepAlive * 1000;
      for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", idle);
      seen.push(t.keepAlive);
    }
    expect(seen).toEqual([84, 58, 40, 28]);
  });

  test("keep alive 0 (off) is left alone", () => {
    const t = tuner({ keepAlive: 0 });
    const clock = { now: 0 };
    for (let i = 0; i < 5; i++) expect(life(t, clock, 1000, "keepalive_timeout", 30000)).toBeUndefined();
    expect(t.keepAlive).toBe(0);
  });
});

describe("raising", () => {
  function lowered(): { t: KeepAliveTuner; clock: { now: number } } {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", 60000);
    expect(t.keepAlive).toBe(42);
    return { t, clock };
  }

  test("after a long stable period it raises one step at a time, back up to the configured value", () => {
    const { t, clock } = lowered();
    expect(life(t, clock, 5 * HOUR, "closed", 0)).toBeUndefined();
    expect(t.keepAlive).toBe(42);
    const reason = life(t, clock, HOUR, "link_down", 0);
    expect(t.keepAlive).toBe(Math.ceil(42 * RAISE_STEP));
    expect(reason).toBe("keep alive 42 -> 53 s: stable for 360 min");
    expect(t.natIdleTimeoutSuspected).toBeDefined();
    const steps = [];
    for (let i = 0; i < 10 && t.keepAlive < 120; i++) {
      life(t, clock, 7 * HOUR, "closed", 0);
      steps.push(t.keepAlive);
    }
    expect(steps).toEqual([67, 84, 105, 120]);
    expect(t.natIdleTimeoutSuspected).toBeUndefined();
    // Stable at the configured value: nothing left to raise.
    expect(life(t, clock, 24 * HOUR, "closed", 0)).toBeUndefined();
    expect(t.keepAlive).toBe(120);
  });

  test("an idle death restarts the stable period", () => {
    const { t, clock } = lowered();
    life(t, clock, 5 * HOUR, "closed", 0);
    life(t, clock, 10 * HOUR, "keepalive_timeout", 40000);
    life(t, clock, 5 * HOUR, "closed", 0);
    expect(t.keepAlive).toBe(42);
  });
});

describe("persistence", () => {
  test("serialize and restore carry the keep alive, evidence, pending deaths and stable time", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", 60000);
    life(t, clock, 2 * HOUR, "closed", 0);
    life(t, clock, 1000, "tcp_reset", 30000);
    const text = t.serialize();
    expect(text.length).toBeLessThan(64);

    const copy = tuner();
    expect(copy.restore(text)).toBe(true);
    expect(copy.keepAlive).toBe(42);
    expect(copy.natIdleTimeoutSuspected).toEqual(t.natIdleTimeoutSuspected);
    expect(copy.serialize()).toBe(text);
    // Two more similar deaths complete the pending observation carried over.
    life(copy, clock, 1000, "tcp_reset", 31000);
    life(copy, clock, 1000, "tcp_reset", 32000);
    expect(copy.keepAlive).toBe(21);
  });

  test("a restored state is clamped to a changed configuration", () => {
    const t = tuner();
    const clock = { now: 0 };
    for (let i = 0; i < 3; i++) life(t, clock, 1000, "keepalive_timeout", 60000);
    const lower = tuner({ keepAlive: 30 });
    expect(lower.restore(t.serialize())).toBe(true);
    expect(lower.keepAlive).toBe(30);
    expect(lower.natIdleTimeoutSuspected).toBeUndefined();
    const higherMin = tuner({ min: 50 });
    higherMin.restore(t.serialize());
    expect(higherMin.keepAlive).toBe(50);
  });

  test.each(["", "garbage", "k1;abc;0;;", "k2;42;0;;", "k1;42;0;1,x;", "k1;-3;0;;", "k1;42;0;;;"])(
    "refuses %j and keeps the fresh state",
    (text) => {
      const t = tuner();
      expect(t.restore(text)).toBe(false);
      expect(t.keepAlive).toBe(120);
      expect(t.serialize()).toBe("k1;120;0;;");
    },
  );
});
