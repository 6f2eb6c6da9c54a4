// The reconnection policy as a fleet lives it, on a virtual clock: the real Backoff of every device (each with
// its own generator, seeded as `npm run fleet` seeds them) through a broker restart, an auth outage and a
// power-on, by the simulator the tool's --simulate uses.
import {
  Backoff,
  type BackoffConfig,
  DEFAULT_BASE,
  DEFAULT_CAP,
  DEFAULT_JITTER,
  DEFAULT_SPREAD,
  DEFAULT_STABLE,
} from "tether/client/backoff";
import type { FleetResult, Scenario } from "../../bench/fleet/result";
import { simulate } from "../../bench/fleet/simulate";
import { NodeHost } from "../../bench/node-host";
import { cryptoSeed, deviceSeed, generator } from "../../bench/random";

const A = { host: "a.example", port: 1883 };
const DEFAULTS: BackoffConfig = {
  base: DEFAULT_BASE,
  cap: DEFAULT_CAP,
  stable: DEFAULT_STABLE,
  jitter: DEFAULT_JITTER,
  spread: DEFAULT_SPREAD,
};
const RUN = Uint32Array.of(1, 2, 3, 4);

function run(scenario: Scenario, devices: number, outage: number, over: Partial<BackoffConfig> = {}): FleetResult {
  return simulate({
    devices,
    scenario,
    backoff: { ...DEFAULTS, ...over },
    outage,
    admit: 0,
    policy: "tether",
    seed: RUN,
    horizon: 600000,
    settings: {},
  });
}

/** The most attempts one second after `from` (s from the origin) saw at the broker, as a share of the fleet. */
function peakShare(r: FleetResult, from: number): number {
  const bins = r.atBrokerPerSecond!.slice(from - r.start);
  return Math.max(...bins) / r.devices;
}

describe("per-device randomness", () => {
  test("device seeds of a run never repeat, and their sequences differ from the first draw", () => {
    const seeds = new Set<string>();
    const firsts = new Set<number>();
    for (let i = 0; i < 100000; i++) {
      const seed = deviceSeed(RUN, i);
      seeds.add(Array.from(seed).join(","));
      firsts.add(generator(seed)());
    }
    expect(seeds.size).toBe(100000);
    // 100,000 draws from 2^32 values: a handful of coincidences at most, not a shared sequence.
    expect(firsts.size).toBeGreaterThan(99990);
  });

  test("every Node host draws from its own crypto-seeded generator", () => {
    const hosts = Array.from({ length: 50 }, () => new NodeHost());
    expect(new Set(hosts.map((h) => Array.from(h.seed).join(","))).size).toBe(50);
    expect(new Set(hosts.map((h) => h.random())).size).toBe(50);
    const a = new NodeHost(Uint32Array.of(9, 9, 9, 9));
    const b = new NodeHost(Uint32Array.of(9, 9, 9, 9));
    expect([a.random(), a.random()]).toEqual([b.random(), b.random()]);
    expect(cryptoSeed()).not.toEqual(cryptoSeed());
  });
});

describe("jitter at every ceiling", () => {
  test("devices refused together wait cap/2..cap, spread over it, never in lockstep", () => {
    const waits = Array.from(
      { length: 10000 },
      (_, i) =>
        new Backoff(DEFAULTS, { random: generator(deviceSeed(RUN, i)) }, [A]).failed(0, "bad_credentials").delay,
    );
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(DEFAULT_CAP / 2);
    expect(Math.max(...waits)).toBeLessThan(DEFAULT_CAP);
    const perSecond = new Map<number, number>();
    for (const w of waits) perSecond.set(Math.floor(w / 1000), (perSecond.get(Math.floor(w / 1000)) ?? 0) + 1);
    // 60 one-second slots: about 1/60 of the fleet each, never a burst.
    expect(perSecond.size).toBe(60);
    expect(Math.max(...perSecond.values())).toBeLessThan(10000 / 30);
  });

  test("from the second failure on, a grid of the device's own: one period apart, never sooner than base", () => {
    const PERIOD = DEFAULT_SPREAD - DEFAULT_BASE;
    for (const r of [0, 0.5, 0.999999]) {
      const b = new Backoff(DEFAULTS, { random: () => r }, [A]);
      expect(b.failed(0, "tcp_refused").delay).toBe(Math.floor(r * DEFAULT_BASE));
      // Joining: a phase anywhere in the period, after base.
      let now = 1000;
      const join = b.failed(now, "tcp_refused").delay;
      expect(join).toBe(DEFAULT_BASE + Math.floor(r * PERIOD));
      now += join;
      const phase = now % PERIOD;
      // However late each failure comes (a slow refusal, a timeout), the next dial is on the grid, after base.
      for (const late of [3, 999, 5000, 13500, 30000]) {
        now += late;
        const delay = b.failed(now, "tcp_refused").delay;
        expect(delay).toBeGreaterThanOrEqual(DEFAULT_BASE);
        expect(delay).toBeLessThanOrEqual(PERIOD + DEFAULT_BASE);
        expect((now + delay) % PERIOD).toBe(phase);
        now += delay;
      }
    }
  });

  test("the broker went away (broker_closed): the grid from the first retry, a phase anywhere in the period", () => {
    const b = new Backoff(DEFAULTS, { random: () => 0.25 }, [A]);
    b.connected(0);
    const first = b.disconnected(100000, "broker_closed").delay;
    expect(first).toBe(Math.floor(0.25 * (DEFAULT_SPREAD - DEFAULT_BASE)));
    expect(b.failed(100000 + first + 2, "tcp_refused").delay).toBe(DEFAULT_SPREAD - DEFAULT_BASE - 2);
  });

  test("a spread above the cap is the cap", () => {
    const b = new Backoff({ ...DEFAULTS, cap: 6000 }, { random: () => 0.999 }, [A]);
    b.failed(0, "tcp_refused");
    expect(b.failed(1, "tcp_refused").delay).toBeLessThan(6000);
    expect(b.boot(0).delay).toBeLessThan(6000);
  });
});

describe("power-on and link-up", () => {
  test("the first attempt comes within the spread; without one, at once", () => {
    expect(new Backoff(DEFAULTS, { random: () => 0.5 }, [A]).boot(0)).toMatchObject({
      delay: DEFAULT_SPREAD / 2,
      broker: A,
    });
    expect(new Backoff({ ...DEFAULTS, spread: 0 }, { random: () => 0.5 }, [A]).boot(0).delay).toBe(0);
  });

  test("a link that comes up before the first connection is the fleet's: spread; after it, one device's: base", () => {
    const b = new Backoff(DEFAULTS, { random: () => 0.5 }, [A]);
    b.boot(0);
    expect(b.linkUp(3000).delay).toBe(DEFAULT_SPREAD / 2);
    b.connected(4000);
    b.disconnected(5000, "link_down");
    expect(b.linkUp(9000).delay).toBe(DEFAULT_BASE / 2);
  });

  test("10,000 devices powered on together: at most a tenth per second, all within the spread", () => {
    const r = run("power-on", 10000, 0);
    expect(peakShare(r, 0)).toBeLessThanOrEqual(0.1);
    expect(r.reconnected.p100).toBeLessThanOrEqual(DEFAULT_SPREAD);
    expect(r.totals.attempts).toBe(10000);
  });
});

describe("a fleet through a broker restart", () => {
  test.each([20000, 60000, 600000])(
    "down %i ms: a returning broker sees at most a tenth of the fleet per second, 99%% back within 15 s",
    (outage) => {
      const r = run("broker-restart", 5000, outage);
      expect(r.reconnected.missing).toBe(0);
      expect(peakShare(r, 0)).toBeLessThanOrEqual(0.1);
      expect(r.reconnected.p99!).toBeLessThanOrEqual(15000);
      expect(r.reconnected.p100!).toBeLessThanOrEqual(DEFAULT_SPREAD);
      // The outage costs one attempt per device per period (14 s), not one per base.
      expect(r.totals.attempts / r.devices).toBeLessThan(2 + outage / 13000);
    },
  );

  test("without the spread the growth goes to the cap, and a long outage is slow to recover from", () => {
    const r = run("broker-restart", 2000, 600000, { spread: 0 });
    expect(r.reconnected.p99!).toBeGreaterThan(30000);
  });
});

describe("a fleet through an auth outage", () => {
  test("at most one attempt per device per minute while refused; after the fix, spread out and all back within the cap", () => {
    const outage = 600000;
    const r = run("auth-outage", 10000, outage);
    // The first retry after the restart, then one every cap/2..cap.
    expect(r.totals.attempts / r.devices).toBeLessThanOrEqual(2 + outage / 60000 + 1);
    // The broker went away (restarted with the bad credentials): the first retries spread over the spread, then
    // about 1/90 of the fleet per second (one attempt per 60..120 s each).
    const during = r.atBrokerPerSecond!.slice(0, -r.start);
    const firstWave = (DEFAULT_SPREAD + 1000) / 1000;
    expect(Math.max(...during.slice(0, firstWave))).toBeLessThanOrEqual(r.devices / 10);
    expect(Math.max(...during.slice(firstWave))).toBeLessThan(r.devices / 30);
    expect(r.reconnected.missing).toBe(0);
    expect(r.reconnected.p100!).toBeLessThanOrEqual(DEFAULT_CAP);
    expect(peakShare(r, 0)).toBeLessThan(0.05);
  });
});
