// The chaos test (tools/chaos/): its plans are reproducible, its console encoding reads back exactly, each
// invariant catches what it is for on made-up serial output, and a bounded run of fixed seeds against mosquitto
// and the firmware in XS ends with no violation.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokenize } from "tether/diag/console";
import { failureInfo } from "tether/diag/failures";
import { parseLine } from "tether/diag/log";
import { attempts, busiestMinute, check, mentions, type RunRecord } from "../../tools/chaos/invariants";
import { describeOp, makePlan, type Plan } from "../../tools/chaos/plan";
import { report, saveRun } from "../../tools/chaos/report";
import { ChaosRun, consoleArg } from "../../tools/chaos/run";
import { describeMosquitto } from "../helpers/mosquitto";

const HINT = JSON.stringify(failureInfo("tcp_refused").hint);

function record(output: string, overrides: Partial<RunRecord> = {}): RunRecord {
  const plan: Plan = {
    seed: 1,
    broker: { retainAvailable: true, maxQos: 2, maxPacketSize: 0, maxInflight: 20, acl: false },
    device: {},
    ops: [],
  };
  return {
    plan,
    boots: [{ output, ops: [], reconnects: 0, ended: "end", keepsSession: true, version: "3.1.1" }],
    messages: [],
    deliveries: new Map(),
    probes: [],
    opsRun: 0,
    errors: [],
    ...overrides,
  };
}

/** A refused attempt at `t` ms: the attempt, its failure line (unless `named` is false) and the retry. */
function refused(t: number, named = true): string {
  return [
    `${t} I mqtt connecting broker=mqtt://127.0.0.1:1 attempt=1 total=1`,
    named ? `${t + 1} W diag tcp_refused broker=127.0.0.1:1 error=refused hint=${HINT}` : "",
    `${t + 2} I mqtt retry in_ms=5 reason="tcp_refused: attempt 1; 127.0.0.1:1 in 5 ms"`,
  ]
    .filter(Boolean)
    .join("\n");
}

function invariants(rec: RunRecord): string[] {
  return check(rec).violations.map((v) => v.invariant);
}

describe("chaos plans", () => {
  test("a seed gives the same plan every time, another seed another plan", () => {
    expect(makePlan(42, { ops: 50 })).toEqual(makePlan(42, { ops: 50 }));
    expect(makePlan(43, { ops: 50 })).not.toEqual(makePlan(42, { ops: 50 }));
    expect(makePlan(42, { ops: 50 }).ops).toHaveLength(50);
  });

  test("a failing seed prints every operation and the command that runs it again", () => {
    const plan = makePlan(7, { ops: 5, hazards: ["passwords"] });
    const verdict = { violations: [{ invariant: "settle" as const, detail: "x" }], delivery: {} as never, attempts: 1 };
    const text = report(plan, verdict, ["acl"], "/tmp/plan.json");
    expect(text).toContain("[settle] x");
    for (const [i, op] of plan.ops.entries()) expect(text).toContain(`${String(i + 1).padStart(3)}. ${describeOp(op)}`);
    expect(text).toContain("npm run chaos -- --seed 7 --ops 5 --without acl   (or --plan /tmp/plan.json)");
  });

  test("hostile topics reach the console as they were drawn", () => {
    const topics = ["chaos/t\u0001x", "a\ud800/b", "😀/\uffff", 'q"\\ /\t', "é温"];
    for (const topic of topics) expect(tokenize(`pub ${consoleArg(topic)} x`)).toEqual(["pub", topic, "x"]);
  });
});

describe("chaos invariants", () => {
  test("attempts are counted per cause on the device's clock", () => {
    // The console's answer is written after the attempt its reconnect made.
    const output = `${[0, 100, 200].map((t) => refused(t)).join("\n")}\n300 I mqtt connecting attempt=4 total=4\n| reconnecting\n400 I mqtt connecting attempt=5 total=5\n`;
    expect(attempts(output).map((a) => a.cause)).toEqual(["boot", "tcp_refused", "tcp_refused", "console", "unknown"]);
    const times = [0, 10000, 59999, 60000, 61000].map((time) => ({ time, cause: "x" }));
    expect(busiestMinute(times)).toEqual({ count: 4, from: 10000 });
  });

  test("more than K attempts a minute after one cause is a violation", () => {
    const many = Array.from({ length: 25 }, (_, i) => refused(i * 1000)).join("\n");
    expect(invariants(record(`${many}\n`))).toContain("attempts");
    const spread = Array.from({ length: 25 }, (_, i) => refused(i * 5000)).join("\n");
    expect(invariants(record(`${spread}\n`))).not.toContain("attempts");
  });

  test("a retry with no failure line is unnamed unless a summary counts it", () => {
    const output = `${refused(0)}\n${refused(100, false)}\n${refused(20000)}\n`;
    expect(invariants(record(output))).toEqual(["named"]);
    const summarized = `${output}20100 W diag tcp_refused ... 1 similar suppressed\n`;
    expect(invariants(record(summarized))).toEqual([]);
    const noHint = "5 W diag tcp_refused broker=127.0.0.1:1 error=refused\n";
    expect(invariants(record(noHint))).toEqual(["named"]);
  });

  test("a halt, an exception, a fault line and a stray line are violations", () => {
    for (const line of [
      "*** device halted: exit code 11 (not enough memory)",
      "*** uncaught exception: RangeError",
      '5 E app fault in=timer error="RangeError: x"',
      "garbage",
    ]) {
      expect(invariants(record(`1 I app boot\n${line}\n`))).toEqual(["halt"]);
    }
  });

  test("not connected, or still holding messages, within the bound after the faults end", () => {
    const settle = { healedAt: 1000, bound: 5000, drained: true };
    expect(invariants(record("", { settle: { ...settle, connectedAt: 5000 } }))).toEqual([]);
    expect(invariants(record("", { settle: { ...settle, connectedAt: 7000 } }))).toEqual(["settle"]);
    expect(invariants(record("", { settle }))).toEqual(["settle"]);
    expect(invariants(record("", { settle: { ...settle, connectedAt: 2000, drained: false } }))).toEqual(["settle"]);
  });

  test("an accepted QoS 1/2 message arrives (QoS 2 once) or is named", () => {
    const message = { tag: "s1m1.", topic: "chaos/a", qos: 2 as const, retain: false, via: "serial" as const, boot: 0 };
    const run = (result: string, delivered: number, output = "", qos: 1 | 2 = 2) =>
      invariants(
        record(output, {
          messages: [{ ...message, qos, result }],
          deliveries: new Map(delivered ? [["s1m1.", delivered]] : []),
        }),
      );
    expect(run("sent", 1)).toEqual([]);
    expect(run("queued", 0)).toEqual(["delivery"]);
    expect(run("sent", 2)).toEqual(["delivery"]);
    // Not after a boot that starts a connection clean on purpose: what it carries over is resent on a new session.
    const clean =
      '5 W mqtt warning message="next connection starts a clean session: the session state of the last run could not all be stored (messages too large or too many)"\n';
    expect(run("sent", 2, clean)).toEqual([]);
    // Nor after a connection that found no session and sent it again as new (a later boot that keeps none).
    expect(run("sent", 2, "5 I mqtt connected session=new keepalive=10 rtt=8 requeued=1 n=1\n")).toEqual([]);
    expect(run("sent", 2, "", 1)).toEqual([]);
    expect(run("invalid", 0)).toEqual([]);
    expect(run("invalid", 1)).toEqual(["delivery"]);
    const quarantined = `9 W diag message_quarantined topic=chaos/a reason=closed hint=${JSON.stringify("x")}\n`;
    expect(run("sent", 0, quarantined).filter((v) => v === "delivery")).toEqual([]);
  });

  test("a publish the ACL drops is excused when a 3.1.1 boot sent it, whatever boot accepted it", () => {
    const message = { tag: "s1m1.", topic: "chaos/deny/x", qos: 1 as const, retain: false, via: "serial" as const };
    const run = (later: string, maxQos: 0 | 1 | 2 = 2) => {
      const rec = record("", {
        boots: [
          { output: "", ops: [], reconnects: 0, ended: "kill", keepsSession: true, version: "5" },
          { output: "", ops: [], reconnects: 0, ended: "end", keepsSession: true, version: later },
        ],
        messages: [{ ...message, boot: 0, result: "queued" }],
      });
      rec.plan.broker.acl = true;
      rec.plan.broker.maxQos = maxQos;
      return invariants(rec);
    };
    expect(run("5")).toEqual(["delivery"]);
    expect(run("3.1.1")).toEqual([]);
    // A broker's Maximum QoS 0: sent at QoS 0, no PUBACK to refuse it.
    expect(run("5", 0)).toEqual([]);
  });

  test("with a broker's Maximum QoS 0, a message that left the device is at most once", () => {
    const message = { tag: "s1m1.", topic: "chaos/a", qos: 2 as const, retain: false, via: "serial" as const, boot: 0 };
    const run = (output: string) => {
      const rec = record(output, { messages: [{ ...message, result: "sent" }] });
      rec.plan.broker.maxQos = 0;
      return invariants(rec);
    };
    expect(run("")).toEqual(["delivery"]);
    expect(run("5 I trace out type=PUBLISH size=20 qos=0 topic=chaos/a payload=s1m1.\n")).toEqual([]);
  });

  test("a reboot that says its stored session was incomplete names what the boot before it lost", () => {
    const message = { tag: "s1m1.", topic: "chaos/a", qos: 1 as const, retain: false, via: "serial" as const };
    const boots = (warning: string) => [
      { output: "", ops: [], reconnects: 0, ended: "kill" as const, keepsSession: true, version: "3.1.1" },
      { output: warning, ops: [], reconnects: 0, ended: "end" as const, keepsSession: true, version: "3.1.1" },
    ];
    const run = (warning: string) =>
      invariants(record("", { boots: boots(warning), messages: [{ ...message, boot: 0, result: "queued" }] }));
    expect(run("")).toEqual(["delivery"]);
    const said =
      '5 W mqtt warning message="next connection starts a clean session: the session state of the last run could not all be stored (messages too large or too many)"\n';
    expect(run(said)).toEqual([]);
  });

  const delivery = (run: RunRecord) => invariants(run).filter((v) => v === "delivery");

  test("waiting messages a reboot lost are named by count, at the shutdown or at the boot after a power cut", () => {
    const message = { tag: "s1m1.", topic: "chaos/a", qos: 1 as const, retain: false, via: "serial" as const };
    const run = (ended: "kill" | "shutdown", first: string, second = "") =>
      delivery(
        record("", {
          boots: [
            { output: first, ops: [], reconnects: 0, ended, keepsSession: true, version: "3.1.1" },
            { output: second, ops: [], reconnects: 0, ended: "end", keepsSession: true, version: "3.1.1" },
          ],
          messages: [{ ...message, boot: 0, result: "queued" }],
        }),
      );
    const line = (when: string) => `9 W diag message_dropped count=1 reason=no_slot when=${when} hint="x"\n`;
    expect(run("shutdown", "")).toEqual(["delivery"]);
    expect(run("shutdown", line("shutdown"))).toEqual([]);
    expect(run("kill", "", line("power_cut"))).toEqual([]);
    // A message that left the device was a flight: a count of waiting messages does not name it, in its own boot; a
    // later boot's count does (read back from the store, then lost).
    const sent = "5 I trace out type=PUBLISH payload=s1m1.\n";
    expect(run("shutdown", `${sent}${line("shutdown")}`)).toEqual(["delivery"]);
    expect(run("kill", sent, line("shutdown"))).toEqual([]);
    // A power cut named at the start of its own boot is an earlier boot's.
    expect(run("shutdown", line("power_cut"))).toEqual(["delivery"]);
  });

  test("a subscription the console took that no longer holds is a violation", () => {
    const probe = { topic: "inbound/1", filters: ["inbound/#"] };
    expect(invariants(record("", { probes: [{ ...probe, arrived: true }] }))).toEqual([]);
    expect(invariants(record("", { probes: [{ ...probe, arrived: false }] }))).toEqual(["subscription"]);
  });

  test("a long topic cut short in a log line still names its message", () => {
    const topic = `chaos/${"l".repeat(300)}`;
    const line = parseLine(`1 W mqtt warning topic=${topic.slice(0, 200)}...(${topic.length})`)!;
    expect(mentions(line, topic)).toBe(true);
    expect(mentions(line, "chaos/other")).toBe(false);
    const warning = parseLine('1 W mqtt warning message="publish to chaos/a/b refused: too large"')!;
    expect(mentions(warning, "chaos/a/b")).toBe(true);
    expect(mentions(warning, "chaos/a")).toBe(false);
  });
});

// The bounded run of `npm test`: fixed seeds, each a plan of OPS operations, drawn from every hazard; `npm run chaos`
// runs longer and wider. Seeds 12 and 5 were the last to fail with broker limits: a remote `reconnect` redelivered
// at every connection behind a reply over a 3.1.1 broker's max_packet_size (commands now act once the broker has
// read their ack), and a QoS 2 message to a broker with max_qos 1 resent across reboots (the first close is stored
// with the message; a run that keeps no session removes what it read back only once it is through).
const SEEDS = [1, 5, 8, 12];
const OPS = 30;

describeMosquitto("chaos: a bounded run", () => {
  test.each(SEEDS)(
    "seed %i holds every invariant",
    async (seed) => {
      const plan = makePlan(seed, { ops: OPS });
      const result = await new ChaosRun(plan).run();
      const verdict = check(result);
      expect(result.opsRun).toBe(OPS);
      expect(verdict.attempts).toBeGreaterThan(0);
      // On failure: the violations, the operations that reproduce them, and where the serial output was saved.
      const saved = verdict.violations.length ? saveRun(result, join(tmpdir(), "tether-chaos")) : undefined;
      expect(saved ? `${report(plan, verdict, [], saved.plan)}\n  serial output: ${saved.log}` : "").toBe("");
    },
    120000,
  );
});
