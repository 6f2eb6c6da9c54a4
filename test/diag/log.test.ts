import fc from "fast-check";
import {
  DEBUG,
  ERROR,
  formatLine,
  INFO,
  isSecretKey,
  type Level,
  Logger,
  levelFromName,
  parseLine,
  TRACE,
  WARN,
} from "tether/diag/log";

/** A logger on a fake clock that collects its lines. */
function setup(level: Level = INFO, window = 1000, budget = 0) {
  const clock = { now: 0 };
  const lines: string[] = [];
  const logger = new Logger(
    (line) => lines.push(line),
    () => clock.now,
    level,
    window,
    budget,
  );
  return { clock, lines, logger };
}

describe("formatLine / parseLine", () => {
  test("writes the documented format", () => {
    expect(formatLine(81234.7, ERROR, "tcp", "failure", { code: "tcp_refused", port: 1883, tls: false })).toBe(
      "81234 E tcp failure code=tcp_refused port=1883 tls=false",
    );
  });

  test("quotes values with spaces, quotes, = and control characters, and leaves out undefined", () => {
    const line = formatLine(5, WARN, "mqtt", "x", {
      a: "two words",
      b: 'say "hi"',
      c: "k=v",
      d: "line\nbreak\ttab\r\x01\x7f",
      e: "",
      f: undefined,
      g: "back\\slash",
      h: "plain-ok_1.2:3/4",
    });
    expect(line).toBe(
      '5 W mqtt x a="two words" b="say \\"hi\\"" c="k=v" d="line\\nbreak\\ttab\\r\\x01\\x7f" e="" g="back\\\\slash" h=plain-ok_1.2:3/4',
    );
  });

  test("turns characters that would break the line in names into _", () => {
    expect(formatLine(1, INFO, "my area", "ev=nt", { "a key": 1 })).toBe("1 I my_area ev_nt a_key=1");
  });

  test("parses a line back", () => {
    expect(parseLine('42 D client state from=idle to="connecting now" n=3\n')).toEqual({
      time: 42,
      level: DEBUG,
      area: "client",
      event: "state",
      fields: { from: "idle", to: "connecting now", n: "3" },
    });
  });

  test("rejects what is not a log line", () => {
    for (const bad of [
      "",
      "hello world",
      "12 X a b",
      "12 E a",
      "x E a b",
      "12 E a b novalue",
      '12 E a b k="open',
      "12 E a b =v",
      "12 E a b ... 3 similar",
      "12 E a b ... x similar suppressed",
    ]) {
      expect(parseLine(bad)).toBeUndefined();
    }
  });

  test("any field values survive a round trip", () => {
    const key = fc.stringMatching(/^[a-zA-Z][\w.-]{0,8}$/).filter((k) => !isSecretKey(k));
    fc.assert(
      fc.property(
        fc.nat(),
        fc.constantFrom(ERROR, WARN, INFO, DEBUG, TRACE),
        fc.dictionary(key, fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.integer()), { maxKeys: 5 }),
        (time, level, fields) => {
          const line = formatLine(time, level, "area", "event", fields);
          expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
          const parsed = parseLine(line);
          expect(parsed).toBeDefined();
          expect(parsed!.time).toBe(time);
          expect(parsed!.level).toBe(level);
          const expected: Record<string, string> = {};
          for (const k in fields) expected[k] = String(fields[k]);
          expect(parsed!.fields).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Logger", () => {
  test("prints at or above its level, and the level changes at run time", () => {
    const { clock, lines, logger } = setup(INFO);
    clock.now = 10;
    logger.debug("a", "hidden");
    logger.info("a", "shown");
    logger.level = TRACE;
    logger.trace("a", "now shown");
    logger.level = ERROR;
    logger.warn("a", "hidden again");
    logger.error("a", "err");
    expect(lines).toEqual(["10 I a shown", "10 T a now_shown", "10 E a err"]);
    expect(logger.enabled(WARN)).toBe(false);
    expect(levelFromName("debug")).toBe(DEBUG);
    expect(levelFromName("loud")).toBeUndefined();
  });

  test("hides secrets by field: secret keys and a URL's password, never their text inside other values", () => {
    const { lines, logger } = setup();
    logger.info("cfg", "set", {
      mqttPassword: "anything",
      password: "wifi-pass",
      token: "t",
      apiKey: "k",
      authenticationData: "d",
      key: "x",
      keepAlive: 60,
      url: "mqtt://u:hunter2@host",
      plain: "mqtt://host:1883/path@x",
    });
    expect(lines[0]).toBe(
      "0 I cfg set mqttPassword=*** password=*** token=*** apiKey=*** authenticationData=*** key=*** keepAlive=60 url=mqtt://u:***@host plain=mqtt://host:1883/path@x",
    );
  });

  test("a password that is an ordinary word leaves other text alone (it was hidden inside a hint, which gave it away)", () => {
    const { lines, logger } = setup();
    // The device's password is "wrong": the failure line names no password, and its hint reads as written.
    const hint = "mosquitto answers 5 (3.1.1) / 0x87 (5.0) for a wrong password or unknown user";
    logger.error("diag", "bad_credentials", { user: "set", mqttPassword: "wrong", hint });
    expect(lines[0]).toBe(`0 E diag bad_credentials user=set mqttPassword=*** hint="${hint}"`);
  });

  test("a burst of identical lines prints once, then a summary once its window has passed", () => {
    const { clock, lines, logger } = setup(INFO, 1000);
    for (let i = 0; i < 5; i++) {
      clock.now = 100 + i * 10;
      logger.warn("net", "retry", { code: "dns_failed" });
    }
    clock.now = 200;
    logger.info("net", "other");
    logger.tick(1099);
    expect(lines).toEqual(["100 W net retry code=dns_failed", "200 I net other"]);
    logger.tick(1100);
    expect(lines[2]).toBe("1100 W net retry ... 4 similar suppressed");
    expect(parseLine(lines[2])).toEqual({
      time: 1100,
      level: WARN,
      area: "net",
      event: "retry",
      fields: {},
      suppressed: 4,
    });
  });

  test("a failure repeated between other lines (a retry loop) is held back too", () => {
    const { clock, lines, logger } = setup(INFO, 1000);
    for (let attempt = 1; attempt <= 6; attempt++) {
      clock.now = attempt * 100;
      logger.info("mqtt", "connecting", { attempt });
      logger.warn("diag", "tcp_refused", { error: "refused" });
      logger.info("mqtt", "retry", { in_ms: attempt * 7 });
    }
    logger.tick(1100);
    const failures = lines.filter((line) => line.includes("tcp_refused"));
    expect(failures).toEqual([
      "100 W diag tcp_refused error=refused",
      "1100 W diag tcp_refused ... 5 similar suppressed",
    ]);
    expect(lines.filter((line) => line.includes("connecting"))).toHaveLength(6);
  });

  test("more distinct lines than it remembers: the oldest one's count is reported when it is forgotten", () => {
    const { clock, lines, logger } = setup(INFO, 1000);
    logger.info("a", "first");
    logger.info("a", "first");
    for (let i = 0; i < 8; i++) {
      clock.now = 10 + i;
      logger.info("b", "other", { i });
    }
    expect(lines).toContain("10 I a first ... 1 similar suppressed");
    expect(lines.filter((line) => line.includes("similar"))).toHaveLength(1);
  });

  test("lines that differ in a field are not suppressed", () => {
    const { lines, logger } = setup();
    logger.info("a", "b", { n: 1 });
    logger.info("a", "b", { n: 2 });
    logger.info("a", "b", { n: 2 });
    expect(lines).toEqual(["0 I a b n=1", "0 I a b n=2"]);
  });

  test("a steady stream prints one line and one summary per window", () => {
    const { clock, lines, logger } = setup(INFO, 1000);
    for (let t = 0; t < 2500; t += 100) {
      clock.now = t;
      logger.info("ping", "late");
    }
    expect(lines).toEqual([
      "0 I ping late",
      "1000 I ping late ... 9 similar suppressed",
      "1000 I ping late",
      "2000 I ping late ... 9 similar suppressed",
      "2000 I ping late",
    ]);
  });

  test("tick() reports the held-back count once the window has passed, and the next copy prints again", () => {
    const { clock, lines, logger } = setup(INFO, 1000);
    logger.error("tls", "failure");
    clock.now = 50;
    logger.error("tls", "failure");
    logger.tick(999);
    expect(lines).toEqual(["0 E tls failure"]);
    logger.tick(1000);
    expect(lines).toEqual(["0 E tls failure", "1000 E tls failure ... 1 similar suppressed"]);
    logger.tick(5000);
    clock.now = 1100;
    logger.error("tls", "failure");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("1100 E tls failure");
  });

  test("record() prints every line at once, identical or not, and leaves the rate limit of log lines alone", () => {
    const { clock, lines, logger } = setup();
    logger.info("mqtt", "retry", { in_ms: 100 });
    for (let i = 0; i < 3; i++) {
      clock.now += 10;
      logger.record(INFO, "trace", "out", { type: "PUBREL", id: 7 });
    }
    logger.info("mqtt", "retry", { in_ms: 100 });
    logger.record(DEBUG, "trace", "in", { type: "PUBCOMP", id: 7 });
    clock.now += 5000;
    logger.tick(clock.now);
    expect(lines).toEqual([
      "0 I mqtt retry in_ms=100",
      "10 I trace out type=PUBREL id=7",
      "20 I trace out type=PUBREL id=7",
      "30 I trace out type=PUBREL id=7",
      // The log line is still held back and summed up as before; no summary speaks of the trace lines.
      "5030 I mqtt retry ... 1 similar suppressed",
    ]);
    logger.record(INFO, "trace", "in", { type: "PUBLISH", password: "hunter2" });
    expect(lines.at(-1)).toBe("5030 I trace in type=PUBLISH password=***");
  });

  test("tick(now, true) tells every held-back copy at once: what a device about to stop still owes", () => {
    const { clock, lines, logger } = setup(INFO, 10000);
    for (let i = 0; i < 4; i++) {
      clock.now = i * 100;
      logger.error("diag", "bad_credentials", { user: "set" });
    }
    logger.tick(400);
    expect(lines).toEqual(["0 E diag bad_credentials user=set"]);
    logger.tick(500, true);
    expect(lines).toEqual(["0 E diag bad_credentials user=set", "500 E diag bad_credentials ... 3 similar suppressed"]);
  });

  test("lines below the level neither print nor count", () => {
    const { lines, logger } = setup(WARN);
    logger.warn("a", "b");
    logger.info("a", "b");
    logger.warn("c", "d");
    expect(lines).toEqual(["0 W a b", "0 W c d"]);
  });

  test("the serial budget: past a burst, distinct lines are counted by area and event and summed up in one line", () => {
    const clock = { now: 0 };
    const lines: string[] = [];
    // 2 lines a second, bursts of 5 seconds' worth: 10 lines at once.
    const logger = new Logger(
      (line) => lines.push(line),
      () => clock.now,
      INFO,
      1000,
      2,
    );
    // A broker's flood: 5,000 PUBACKs with unknown ids in one second, each line different.
    for (let id = 1; id <= 5000; id++) logger.warn("mqtt", "puback_unknown", { id });
    logger.info("mqtt", "message", { topic: "a" });
    expect(lines).toHaveLength(10);
    expect(logger.serial()).toEqual({ budget: 2, printed: 10, held: 4991 });
    clock.now = 1000;
    logger.tick(clock.now);
    expect(lines.slice(10)).toEqual([
      "1000 I log held_back lines=4991 codes=mqtt.puback_unknown:4990,mqtt.message:1 ms=1000 budget=2",
    ]);
    const parsed = parseLine(lines[10]);
    expect(parsed?.fields.codes).toBe("mqtt.puback_unknown:4990,mqtt.message:1");
    // The bucket fills at the budget's rate: one second later, two more lines print.
    for (let id = 1; id <= 5; id++) logger.warn("mqtt", "puback_unknown", { id: 9000 + id });
    expect(lines).toHaveLength(13);
    // One held_back line per window at most, however long the flood lasts.
    clock.now = 1500;
    logger.tick(clock.now);
    expect(lines).toHaveLength(13);
    clock.now = 2000;
    logger.tick(clock.now);
    expect(lines.at(-1)).toBe("2000 I log held_back lines=3 codes=mqtt.puback_unknown:3 ms=1000 budget=2");
  });

  test("the serial budget names eight codes at most; more are counted as other", () => {
    const clock = { now: 0 };
    const lines: string[] = [];
    const logger = new Logger(
      (line) => lines.push(line),
      () => clock.now,
      INFO,
      1000,
      1,
    );
    for (let i = 0; i < 5; i++) logger.info("boot", "line", { i });
    for (let i = 0; i < 20; i++) logger.info("topic", `e${i}`);
    clock.now = 1000;
    logger.tick(clock.now);
    const codes = parseLine(lines.at(-1)!)?.fields.codes.split(",");
    expect(codes).toHaveLength(9);
    expect(codes?.at(-1)).toBe("other:12");
    expect(lines).toHaveLength(6);
  });

  test("no budget: every line prints", () => {
    const { lines, logger } = setup();
    for (let id = 1; id <= 500; id++) logger.warn("mqtt", "puback_unknown", { id });
    expect(lines).toHaveLength(500);
    expect(logger.serial()).toEqual({ budget: 0, printed: 500, held: 0 });
  });
});
