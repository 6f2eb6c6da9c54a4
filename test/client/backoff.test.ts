import fc from "fast-check";
import {
  Backoff,
  type BackoffConfig,
  BUSY_FACTOR,
  causePolicy,
  DEFAULT_BASE,
  DEFAULT_CAP,
  DEFAULT_JITTER,
  DEFAULT_STABLE,
  MAX_REDIRECTS,
  validateBackoff,
} from "tether/client/backoff";
import { type Endpoint as Broker, parseServerReference } from "tether/client/broker";

const A = { host: "a.example", port: 1883 };
const B = { host: "b.example", port: 1883 };
const C = { host: "c.example", port: 8883 };

function config(over: Partial<BackoffConfig> = {}): BackoffConfig {
  return {
    base: DEFAULT_BASE,
    cap: DEFAULT_CAP,
    stable: DEFAULT_STABLE,
    jitter: DEFAULT_JITTER,
    // The fleet window has tests of its own below; without it the growth goes up to the cap.
    spread: 0,
    ...over,
  };
}

/** A small deterministic generator (xorshift32) standing in for Math.random. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe("validateBackoff and parseServerReference", () => {
  test("the defaults are valid", () => {
    expect(validateBackoff(config(), [A])).toBeUndefined();
    expect(validateBackoff(config({ jitter: "full" }), [A, B, C])).toBeUndefined();
  });

  test.each([
    [{ base: 0 }, /^backoffBase \(ms\) must be an integer from 1 to 3600000 \(got 0\)/],
    [{ base: -5 }, /^backoffBase /],
    [{ base: 1.5 }, /^backoffBase \(ms\) must be an integer/],
    [{ cap: 500 }, /^backoffCap \(ms, at least backoffBase\) .*from 1000 to 86400000 \(got 500\)/],
    [{ stable: 10 }, /^backoffStable \(ms\) .*1000 to 86400000 \(got 10\)/],
    [{ jitter: "equal" as never }, /^backoffJitter must be "full" or "decorrelated" \(got "equal"\)/],
  ])("%j is refused with a message naming the setting", (over, message) => {
    expect(validateBackoff(config(over), [A])).toMatch(message);
  });

  test.each([
    [[], /^broker: the list is empty/],
    [[A, { host: "x", port: 70000 }], /^broker "x:70000": .*port must be 1..65535/],
    [[{ host: "", port: 1883 }], /host must not be empty/],
  ])("broker list %j is refused", (brokers, message) => {
    expect(validateBackoff(config(), brokers)).toMatch(message);
  });

  test("parses host, host:port and [ipv6]:port lists separated by spaces or commas", () => {
    expect(parseServerReference("a.example  b.example:8883,[fe80::1]:1884 10.0.0.2", 1883)).toEqual([
      A,
      { host: "b.example", port: 8883 },
      { host: "fe80::1", port: 1884 },
      { host: "10.0.0.2", port: 1883 },
    ]);
  });

  test.each(["", "  ", "a:0", "a:99999", "a:b", "[::1", "a:1:2", "ws://a:80", "tcp://", "tcp://a:b", "bad_host:1"])(
    "refuses %j",
    (text) => {
      expect(typeof parseServerReference(text, 1883)).toBe("string");
    },
  );

  test("parses the URLs brokers really send: tcp://, mqtt://, mqtts://, ssl://, with or without a port", () => {
    expect(
      parseServerReference("tcp://localhost:1883 mqtt://m.example mqtts://s.example SSL://[fe80::1]:8884/", 1999),
    ).toEqual([
      { host: "localhost", port: 1883, tls: false },
      { host: "m.example", port: 1883, tls: false },
      { host: "s.example", port: 8883, tls: true },
      { host: "fe80::1", port: 8884, tls: true },
    ]);
  });

  test("from a TLS broker, plain-text URLs are left out; the refusal names the entry", () => {
    expect(parseServerReference("tcp://a.example:1883 ssl://b.example:8884 c.example", 8883, true)).toEqual([
      { host: "b.example", port: 8884, tls: true },
      { host: "c.example", port: 8883 },
    ]);
    expect(parseServerReference("mqtt://a.example", 8883, true)).toBe(
      'server reference "mqtt://a.example": would leave TLS',
    );
    expect(parseServerReference("ws://a.example/mqtt", 1883)).toMatch(/^server reference "ws:\/\/a.example\/mqtt": /);
  });
});

describe("delays", () => {
  test("the first retry from a fresh start comes within base, for both jitters", () => {
    for (const jitter of ["full", "decorrelated"] as const) {
      for (const r of [0, 0.5, 0.999]) {
        const b = new Backoff(config({ jitter }), { random: () => r }, [A]);
        const retry = b.failed(0, "tcp_refused");
        expect(retry.delay).toBe(Math.floor(r * DEFAULT_BASE));
        expect(retry).toMatchObject({ waitForLink: false, capped: false, broker: A });
        expect(b.attempt).toBe(1);
      }
    }
  });

  test("decorrelated: never below base after the first retry and grows up to the cap when random is high", () => {
    const b = new Backoff(config(), { random: () => 0.999 }, [A]);
    const delays = [];
    for (let i = 0; i < 12; i++) delays.push(b.failed(i, "tcp_refused").delay);
    expect(delays[0]).toBeLessThan(DEFAULT_BASE);
    for (let i = 1; i < delays.length; i++) {
      expect(delays[i]).toBeGreaterThanOrEqual(DEFAULT_BASE);
      expect(delays[i]).toBeGreaterThanOrEqual(Math.min(0.999 * DEFAULT_CAP, delays[i - 1]!));
    }
    // At the cap the wait is drawn from its upper half: random 0.999 gives just under the cap.
    expect(delays.at(-1)).toBe(Math.floor(DEFAULT_CAP / 2 + (0.999 * DEFAULT_CAP) / 2));
  });

  test("full: the window doubles from base up to the cap", () => {
    const b = new Backoff(config({ jitter: "full" }), { random: () => 0.999999 }, [A]);
    const delays = Array.from({ length: 10 }, (_, i) => b.failed(i, "tcp_refused").delay);
    expect(delays).toEqual([999, 1999, 3999, 7999, 15999, 31999, 63999, 119999, 119999, 119999]);
    const low = new Backoff(config({ jitter: "full" }), { random: () => 0 }, [A]);
    expect(low.failed(0, "tcp_refused").delay).toBe(0);
    expect(low.failed(1, "tcp_refused").delay).toBe(0);
  });

  test("a broker that accepts and drops at once gets ever longer delays, not a storm", () => {
    for (const jitter of ["full", "decorrelated"] as const) {
      const b = new Backoff(config({ jitter }), { random: seeded(7) }, [A]);
      let now = 0;
      let attempts = 0;
      const delays: number[] = [];
      // Thirty simulated minutes of: connect, CONNACK, dropped 50 ms later, wait the delay, again.
      while (now < 30 * 60000 && attempts < 1000) {
        b.connected(now);
        now += 50;
        const retry = b.disconnected(now, "closed");
        delays.push(retry.delay);
        now += retry.delay;
        attempts++;
      }
      expect(b.attempt).toBe(attempts);
      // Without the stable rule this would be ~1800 attempts (one per base); with it the delays reach the cap.
      expect(attempts).toBeLessThan(60);
      const lateAverage = delays.slice(-10).reduce((s, d) => s + d, 0) / 10;
      expect(lateAverage).toBeGreaterThan(DEFAULT_CAP / 4);
    }
  });

  test("the backoff resets only after the connection stayed up for the stable period", () => {
    const b = new Backoff(config(), { random: seeded(3) }, [A]);
    for (let i = 0; i < 6; i++) b.failed(i, "tcp_refused");
    expect(b.attempt).toBe(6);

    b.connected(1000);
    const early = b.disconnected(1000 + DEFAULT_STABLE - 1, "keepalive_timeout");
    expect(b.attempt).toBe(7);
    expect(early.delay).toBeGreaterThanOrEqual(DEFAULT_BASE);

    b.connected(200000);
    const late = b.disconnected(200000 + DEFAULT_STABLE, "keepalive_timeout");
    expect(b.attempt).toBe(1);
    expect(late.delay).toBeLessThan(DEFAULT_BASE);
    expect(late.reason).toMatch(/backoff reset/);
  });

  test("failed() never resets, even long after a connected()", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A]);
    b.failed(0, "tcp_refused");
    b.connected(10);
    b.failed(10 + 10 * DEFAULT_STABLE, "tcp_refused");
    expect(b.attempt).toBe(2);
  });

  test("property: delays are integers in [0, cap] and the attempt counter is consistent", () => {
    const event = fc.record({
      kind: fc.constantFrom("failed", "up-down", "link"),
      cause: fc.constantFrom("tcp_refused", "quota_exceeded", "bad_credentials", "link_down", "server_moved", "closed"),
      up: fc.integer({ min: 0, max: 200000 }),
      retryAfter: fc.option(fc.integer({ min: 0, max: 10 ** 7 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.record({
          base: fc.integer({ min: 1, max: 5000 }),
          extra: fc.integer({ min: 0, max: 300000 }),
          jitter: fc.constantFrom("full", "decorrelated" as const),
          n: fc.integer({ min: 1, max: 4 }),
        }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.array(event, { maxLength: 60 }),
        ({ base, extra, jitter, n }, randoms, events) => {
          const brokers = [A, B, C, { host: "d", port: 1 }].slice(0, n);
          const cfg = config({ base, cap: base + extra, jitter });
          let k = 0;
          const b = new Backoff(cfg, { random: () => randoms[k++ % randoms.length]! }, brokers);
          let now = 0;
          for (const e of events) {
            let retry: ReturnType<Backoff["failed"]>;
            if (e.kind === "link") retry = b.linkUp(now);
            else if (e.kind === "failed")
              retry = b.failed(now, e.cause, { retryAfter: e.retryAfter, serverReference: "moved.example:1999" });
            else {
              b.connected(now);
              now += e.up;
              retry = b.disconnected(now, e.cause);
            }
            expect(Number.isInteger(retry.delay)).toBe(true);
            expect(retry.delay).toBeGreaterThanOrEqual(0);
            expect(retry.delay).toBeLessThanOrEqual(cfg.cap);
            expect(retry.reason.length).toBeGreaterThan(0);
            now += retry.delay;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("policy by cause", () => {
  test("maps the failure codes to policies", () => {
    expect(causePolicy("bad_credentials")).toBe("cap");
    expect(causePolicy("not_authorized")).toBe("cap");
    expect(causePolicy("server_unavailable")).toBe("busy");
    expect(causePolicy("quota_exceeded")).toBe("cap");
    expect(causePolicy("link_down")).toBe("link");
    expect(causePolicy("server_moved")).toBe("redirect");
    expect(causePolicy("tcp_refused")).toBe("normal");
    // A reason code refines a generic cause.
    expect(causePolicy("server_disconnect", 0x89)).toBe("busy");
    expect(causePolicy("server_disconnect", 0x9f)).toBe("busy");
    expect(causePolicy("quota_exceeded", 0x9f)).toBe("busy");
    expect(causePolicy("server_disconnect", 0x97)).toBe("cap");
    expect(causePolicy("server_disconnect", 0x8a)).toBe("cap");
    expect(causePolicy("server_disconnect", 0x9c)).toBe("redirect");
    expect(causePolicy("server_disconnect", 0x8b)).toBe("normal");
  });

  test.each([
    ["bad_credentials", undefined],
    ["not_authorized", undefined],
    ["server_disconnect", 0x87],
    ["quota_exceeded", 0x97],
  ])("%s (reason %s) goes straight to the cap, drawn from its upper half, and says so", (cause, reasonCode) => {
    const b = new Backoff(config(), { random: () => 0.1 }, [A, B]);
    const retry = b.failed(5, cause, { reasonCode });
    expect(retry.delay).toBe(DEFAULT_CAP / 2 + 0.1 * (DEFAULT_CAP / 2));
    expect(retry.capped).toBe(true);
    expect(retry.reason).toMatch(new RegExp(`^${cause}: .*cap`));
    // The brokers share the credentials: the next one in turn is not tried sooner either.
    expect(retry.broker).toEqual(B);
  });

  test.each([
    ["server_unavailable", undefined],
    ["quota_exceeded", 0x9f],
    ["server_disconnect", 0x89],
  ])("%s (reason %s) backs off several times base, up to half as much again", (cause, reasonCode) => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A]);
    const retry = b.failed(0, cause, { reasonCode });
    // From BUSY_FACTOR bases to 1.5 times that.
    expect(retry.delay).toBe(BUSY_FACTOR * DEFAULT_BASE * 1.25);
    expect(retry.capped).toBe(false);
    expect(retry.reason).toMatch(/rests 12500 ms/);
    // Decorrelated growth continues from there (base + 0.5 * (3 * 12500 - base)) rather than from base.
    expect(b.failed(retry.delay, "tcp_refused").delay).toBe(19250);
  });

  test("a server's retry hint is honoured, within the cap", () => {
    expect(
      new Backoff(config(), { random: () => 0 }, [A]).failed(0, "server_unavailable", { retryAfter: 45000 }).delay,
    ).toBe(45000);
    // A hint beyond the cap: the upper third of the cap, so that the fleet told the same does not come back as one.
    const beyond = (r: number) =>
      new Backoff(config(), { random: () => r }, [A]).failed(0, "server_unavailable", { retryAfter: 10 ** 9 }).delay;
    expect(beyond(0)).toBe((DEFAULT_CAP * 2) / 3);
    expect(beyond(0.999)).toBeLessThan(DEFAULT_CAP);
    expect(beyond(0.999)).toBeGreaterThan(DEFAULT_CAP * 0.99);
  });

  test("link down waits for the link without counting an attempt, then retries within base", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A]);
    b.failed(0, "tcp_refused");
    const retry = b.failed(100, "link_down");
    expect(retry).toMatchObject({ waitForLink: true, broker: A });
    // Waited only if the host says the link is up after all: grown like any failure's, never a redial at once.
    expect(retry.delay).toBeGreaterThanOrEqual(DEFAULT_BASE);
    expect(b.attempt).toBe(1);
    b.connected(1000);
    expect(b.disconnected(2000, "link_down").waitForLink).toBe(true);
    const back = b.linkUp(50000);
    expect(back.waitForLink).toBe(false);
    expect(back.delay).toBe(500);
    expect(back.broker).toEqual(A);
  });
});

describe("failover", () => {
  test("round robin over the brokers, each with its own backoff", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A, B, C]);
    expect(b.broker).toEqual(A);
    const order: Broker[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const retry = b.failed(now, "tcp_refused");
      order.push(retry.broker);
      expect(b.broker).toEqual(retry.broker);
      now += retry.delay;
    }
    expect(order).toEqual([B, C, A, B, C, A]);
  });

  test("a broker that failed recently is skipped while the others are fresh", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A, B, C]);
    // A is busy and rests 10 s; B and C fail plainly.
    let retry = b.failed(0, "server_unavailable");
    expect(retry).toMatchObject({ broker: B, delay: 500 });
    retry = b.failed(500, "tcp_refused");
    expect(retry).toMatchObject({ broker: C, delay: 500 });
    retry = b.failed(1000, "tcp_refused");
    expect(retry.broker).toEqual(B);
    expect(retry.reason).toContain("b.example:1883");
  });

  test("when every broker is backing off, the one free first is chosen", () => {
    const b = new Backoff(config(), { random: () => 0 }, [A, B]);
    b.failed(0, "server_unavailable", { retryAfter: 50000 }); // A free at 50000
    const retry = b.failed(0, "server_unavailable", { retryAfter: 20000 }); // B free at 20000
    expect(retry).toMatchObject({ broker: B, delay: 20000 });
  });

  test("after a stable connection drops, the same broker is retried first", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A, B]);
    b.failed(0, "tcp_refused"); // now on B
    b.connected(1000);
    const retry = b.disconnected(1000 + DEFAULT_STABLE, "closed");
    expect(retry).toMatchObject({ broker: B, delay: 500 });
  });

  test("a Server Reference sends the next attempts to its entries in turn, then back to the list", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A, B]);
    const retry = b.failed(0, "server_disconnect", {
      reasonCode: 0x9c,
      serverReference: "other.example:1999 spare.example",
    });
    expect(retry).toMatchObject({ broker: { host: "other.example", port: 1999 }, delay: 500 });
    expect(retry.reason).toMatch(/server reference other.example:1999/);
    expect(b.attempt).toBe(0);
    expect(b.broker).toEqual({ host: "other.example", port: 1999 });
    // The first entry fails: the next one, the port its referrer's.
    const spare = b.failed(600, "tcp_refused");
    expect(spare).toMatchObject({ broker: { host: "spare.example", port: 1883 }, delay: 500 });
    expect(spare.reason).toBe("tcp_refused at other.example:1999: next server reference spare.example:1883 in 500 ms");
    expect(b.attempt).toBe(0);
    // Every entry failed: back to the configured list, the failure counted against the broker that redirected.
    const next = b.failed(1200, "tcp_refused");
    expect(next.broker).toEqual(B);
    expect(b.attempt).toBe(1);
  });

  test("a 0x9D Server moved is kept past the next disconnect, while the server moved to accepts us; 0x9C is not", () => {
    const moved = { host: "moved.example", port: 1884 };
    const b = new Backoff(config(), { random: () => 0.5 }, [A, B]);
    expect(b.failed(0, "server_moved", { reasonCode: 0x9d, serverReference: "moved.example:1884" }).broker).toEqual(
      moved,
    );
    b.connected(100);
    expect(b.disconnected(200, "broker_closed").broker).toEqual(moved);
    b.connected(300);
    expect(b.disconnected(400, "keepalive_timeout").broker).toEqual(moved);
    // A failed attempt there ends it: back to the configured list.
    expect(b.failed(500, "tcp_refused").broker).toEqual(B);
    expect(b.broker).toEqual(B);

    const once = new Backoff(config(), { random: () => 0.5 }, [A]);
    once.failed(0, "server_disconnect", { reasonCode: 0x9c, serverReference: "other.example:1999" });
    once.connected(100);
    expect(once.disconnected(200, "broker_closed").broker).toEqual(A);
  });

  test("the reference port defaults to the redirecting broker's, and a redirect loop backs off", () => {
    const b = new Backoff(config(), { random: () => 0.999 }, [C]);
    expect(b.failed(0, "server_moved", { serverReference: "x.example" }).broker).toEqual({
      host: "x.example",
      port: 8883,
    });
    // The target redirects again: followed too, up to MAX_REDIRECTS in a row.
    const y = b.failed(10, "server_moved", { serverReference: "y.example:1884" });
    expect(y.broker).toEqual({ host: "y.example", port: 1884 });
    for (let i = 2; i < MAX_REDIRECTS; i++) b.failed(10 + i, "server_moved", { serverReference: "x.example" });
    expect(b.attempt).toBe(0);
    // One more is said and not followed: it counts as a failure of the configured broker.
    const again = b.failed(100, "server_moved", { serverReference: "y.example" });
    expect(again.broker).toEqual(C);
    expect(again.reason).toMatch(
      new RegExp(
        `^server_moved \\(${MAX_REDIRECTS} followed in a row without a stable connection: not followed\\): attempt 1`,
      ),
    );
    expect(b.attempt).toBe(1);
    // A redirect without a usable reference is an ordinary failure.
    const bare = b.failed(2000, "server_moved");
    expect(bare.broker).toEqual(C);
    expect(b.attempt).toBe(2);
  });

  test("the caller's broker type comes back, and a reference target inherits the redirecting broker's fields", () => {
    const secure = [{ host: "s.example", port: 8883, tls: true }];
    const b = new Backoff(config(), { random: () => 0.5 }, secure);
    expect(b.failed(0, "tcp_refused").broker).toBe(secure[0]);
    expect(b.failed(10, "server_moved", { serverReference: "t.example" }).broker).toEqual({
      host: "t.example",
      port: 8883,
      tls: true,
    });
  });

  test("from a WebSocket broker, a bare reference keeps the path, and a URL is MQTT over TCP or TLS", () => {
    const ws = [{ host: "w.example", port: 443, tls: true, path: "/mqtt" }];
    const bare = new Backoff(config(), { random: () => 0.5 }, ws);
    expect(bare.failed(0, "server_moved", { serverReference: "v.example" }).broker).toEqual({
      host: "v.example",
      port: 443,
      tls: true,
      path: "/mqtt",
    });
    const url = new Backoff(config(), { random: () => 0.5 }, ws);
    const moved = url.failed(0, "server_moved", { serverReference: "mqtts://v.example" }).broker;
    expect(moved).toEqual({ host: "v.example", port: 8883, tls: true });
    expect(moved.path).toBeUndefined();
  });

  test("a reference URL is followed with its scheme's TLS, and one that cannot be followed is said", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [{ host: "a.example", port: 1883, tls: false }]);
    const retry = b.failed(0, "server_moved", { reasonCode: 0x9d, serverReference: "tcp://localhost:1884" });
    expect(retry.broker).toEqual({ host: "localhost", port: 1884, tls: false });
    b.failed(10, "tcp_refused");
    const bad = b.failed(2000, "server_moved", { reasonCode: 0x9d, serverReference: "ws://x.example:80" });
    expect(bad.reason).toMatch(
      /^server_moved \(server reference "ws:\/\/x.example:80": scheme ws .*: not followed\): attempt/,
    );
  });

  test("a redirect after a stable connection resets the backoff and goes to the reference", () => {
    const b = new Backoff(config(), { random: () => 0.5 }, [A]);
    for (let i = 0; i < 5; i++) b.failed(i, "tcp_refused");
    b.connected(100);
    const retry = b.disconnected(100 + DEFAULT_STABLE, "server_moved", { serverReference: "new.example:1884" });
    expect(retry).toMatchObject({ broker: { host: "new.example", port: 1884 }, delay: 500 });
    expect(b.attempt).toBe(0);
  });

  test("only a stable connection starts the count of redirects in a row again", () => {
    const redirected = (up: number) => {
      const b = new Backoff(config(), { random: () => 0.5 }, [A]);
      for (let i = 0; i < MAX_REDIRECTS; i++) b.failed(i, "server_moved", { serverReference: "x.example" });
      b.connected(100);
      return b.disconnected(100 + up, "server_moved", { serverReference: "y.example" });
    };
    expect(redirected(DEFAULT_STABLE).broker).toEqual({ host: "y.example", port: 1883 });
    const early = redirected(DEFAULT_STABLE - 1);
    expect(early.broker).toEqual(A);
    expect(early.reason).toMatch(/followed in a row without a stable connection: not followed/);
  });
});
