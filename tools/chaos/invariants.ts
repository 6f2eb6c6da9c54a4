// What must hold whatever the plan did, checked on the record of a run: the device's serial output of every boot
// (times are the device's own clock, its uptime on each line), what the watcher received, and what the harness
// did. Pure functions over that record, so each rule is tested on its own (test/tools/chaos.test.ts).
//
// - halt: the device never halts, no exception escapes the firmware, no handler faults, no stray line.
// - attempts: no more than K connection attempts in any minute of the device's clock per cause (the harness's own
//   reconnect commands are allowed on top).
// - named: every failure the backoff acted on was named by a `diag <code>` line with its hint (or counted in a
//   `... N similar suppressed` summary of it).
// - settle: within a bound after the faults stop (on the device's clock) the device is connected and holds nothing
//   in flight or waiting.
// - subscription: what the console subscribed to in the last boot (sent, or saved while offline) and did not
//   unsubscribe is in force once the faults end: a message to a matching topic reaches the device.
// - delivery: every QoS 1/2 message the API accepted reaches the watcher (exactly once when the broker grants
//   QoS 2 in a session the broker keeps), or a line names it (by its topic: quarantined, denied, too large,
//   dropped; by count: `diag message_dropped`, for waiting messages a reboot lost); a refused one never arrives.
//   Not the device's to name: a publish mosquitto's acl_file drops in MQTT 3.1.1 (it acknowledges and drops,
//   /work/shared/broker-facts.md) or at QoS 0 (a broker's Maximum QoS 0: no ack to refuse it, and none to resend
//   one a connection cut lost), or its
//   max_inflight_messages 1 (see checkDelivery), and what a power cut or
//   shutdown loses from a device that keeps no session.

import { FAILURES, type FailureInfo } from "tether/diag/failures";
import { type ParsedLine, parseLine } from "tether/diag/log";
import { BACKOFF, CONNECT_TIMEOUT, DENIED, type Plan, type QoS } from "./plan";

export interface Boot {
  /** Everything the device wrote on serial during this boot. */
  output: string;
  /** Indexes of the plan's operations run during it. */
  ops: number[];
  /** Reconnects the harness asked for (console or remote). */
  reconnects: number;
  /** How it ended: a power cut, a polite shutdown, or the end of the run. */
  ended: "kill" | "shutdown" | "end";
  /** Whether the broker keeps the device's session (cleanSession 0, and in MQTT 5 a session expiry). */
  keepsSession: boolean;
  version: string;
}

export interface Published {
  /** The start of its payload, unique in the run. */
  tag: string;
  topic: string;
  qos: QoS;
  retain: boolean;
  via: "serial" | "remote";
  /** Index of the boot it was published in. */
  boot: number;
  /** The console's answer (`sent`, `queued`, `invalid`...); for a remote one, see `replies`. */
  result: string;
  /**
   * A remote publish's correlation data, and the replies that carried it back (MQTT 5 only): more than one when the
   * command arrived, and ran, more than once.
   */
  correlation?: string;
  replies?: string[];
}

export interface Settle {
  /** Device uptime when every fault ended, and when it was connected again. */
  healedAt: number;
  connectedAt?: number;
  /** ms of the device's clock it may take. */
  bound: number;
  /** Connected with nothing in flight or waiting, within the bound. */
  drained: boolean;
}

export interface RunRecord {
  plan: Plan;
  boots: Boot[];
  messages: Published[];
  /** How many times each tag arrived at the watcher. */
  deliveries: Map<string, number>;
  /** After the faults ended: a message to `topic`, which `filters` (subscribed in the last boot) match, arrived. */
  probes: { topic: string; filters: string[]; arrived: boolean }[];
  opsRun: number;
  settle?: Settle;
  /** What mosquitto logged (for the findings). */
  brokerLog?: string;
  /** The harness's own trouble (a console that never answered): the run's verdict cannot be trusted. */
  errors: string[];
}

export interface Violation {
  invariant: "halt" | "attempts" | "named" | "settle" | "delivery" | "subscription" | "harness";
  detail: string;
}

export interface Limits {
  /** K: connection attempts a minute per cause. */
  perMinute: number;
}

export const DEFAULT_LIMITS: Limits = { perMinute: 20 };

/** The log's rate-limit window (diag/log.ts): a held-back line is counted in a summary only once it has passed. */
const LOG_WINDOW = 10000;

/**
 * How long the device may take, on its clock, to be connected again once every fault has ended: a dead connection
 * noticed by the keep alive (1.5 times it), the longest backoff wait, an attempt begun before the faults ended and
 * one after (connect and CONNACK timeouts each), and 5 s for a loaded machine.
 */
export function settleBound(plan: Plan, keepAliveSeconds: number): number {
  const cap = Number(plan.device.backoffCap ?? BACKOFF.backoffCap);
  return 1.5 * keepAliveSeconds * 1000 + cap + 4 * CONNECT_TIMEOUT + 5000;
}

interface Line {
  raw: string;
  parsed?: ParsedLine;
}

function linesOf(output: string): Line[] {
  const complete = output.slice(0, output.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .slice(0, -1)
    .map((raw) => ({ raw, parsed: parseLine(raw) }));
}

export interface Attempt {
  /** Device uptime, ms. */
  time: number;
  /** Why the device dialled: the failure code its backoff named, `console`, `local:<reason>`, `boot`, `link up`. */
  cause: string;
}

/** The connection attempts of one boot and what each followed. */
export function attempts(output: string): Attempt[] {
  const found: Attempt[] = [];
  let cause: string | undefined;
  /** The last attempt came after every line that gives a cause. */
  let fresh = false;
  for (const { raw, parsed } of linesOf(output)) {
    // The console's answer comes after the attempt its command made.
    if (raw === "| reconnecting") {
      if (fresh) found[found.length - 1]!.cause = "console";
      else cause = "console";
    }
    if (!parsed || parsed.suppressed !== undefined) continue;
    const key = `${parsed.area} ${parsed.event}`;
    if (key === "mqtt closed") cause = `local:${parsed.fields.reason}`;
    else if (key === "mqtt retry") cause = causeOf(parsed.fields.reason ?? "");
    else if (key === "link waiting") cause = "link_down";
    else if (key === "mqtt connecting") {
      found.push({ time: parsed.time, cause: cause ?? (found.length ? "unknown" : "boot") });
      cause = undefined;
      fresh = true;
      continue;
    } else continue;
    fresh = false;
  }
  return found;
}

/** The cause a retry line's reason starts with: `tcp_refused: attempt 2; ...` is tcp_refused. */
function causeOf(reason: string): string {
  return /^[^:;(]+/.exec(reason)?.[0].trim() ?? reason;
}

/** The most attempts of one cause in any 60 s of the device's clock, and when that minute began. */
export function busiestMinute(list: Attempt[]): { count: number; from: number } {
  let best = { count: 0, from: 0 };
  for (let i = 0, j = 0; j < list.length; j++) {
    while (list[j]!.time - list[i]!.time >= 60000) i++;
    if (j - i + 1 > best.count) best = { count: j - i + 1, from: list[i]!.time };
  }
  return best;
}

function checkHalt(boot: Boot, index: number): Violation[] {
  const found: Violation[] = [];
  for (const { raw, parsed } of linesOf(boot.output)) {
    if (raw.startsWith("*** ") || raw.startsWith("\n*** ")) {
      found.push({ invariant: "halt", detail: `boot ${index}: ${raw.slice(0, 300)}` });
    } else if (parsed?.area === "app" && parsed.event === "fault") {
      found.push({ invariant: "halt", detail: `boot ${index}: a handler threw: ${raw.slice(0, 300)}` });
    } else if (!parsed && !raw.startsWith("| ") && raw !== "") {
      found.push({ invariant: "halt", detail: `boot ${index}: stray line ${JSON.stringify(raw.slice(0, 200))}` });
    }
  }
  return found;
}

function checkAttempts(boot: Boot, index: number, limits: Limits): Violation[] {
  const byCause = new Map<string, Attempt[]>();
  for (const attempt of attempts(boot.output)) {
    const list = byCause.get(attempt.cause) ?? [];
    list.push(attempt);
    byCause.set(attempt.cause, list);
  }
  const found: Violation[] = [];
  for (const [cause, list] of byCause) {
    const ours = cause === "console" || cause === "local:console" ? boot.reconnects : 0;
    const { count, from } = busiestMinute(list);
    if (count > limits.perMinute + ours) {
      found.push({
        invariant: "attempts",
        detail: `boot ${index}: ${count} connection attempts after ${cause === "unknown" ? "no line saying why (held back by the log's rate limit)" : cause} within 60 s from uptime ${from} ms (at most ${limits.perMinute}${ours ? ` + ${ours} asked for` : ""})`,
      });
    }
  }
  return found;
}

/** Every failure the backoff acted on is named (its `diag` line, or a suppression summary of it); hints are right. */
function checkNamed(boot: Boot, index: number): Violation[] {
  const found: Violation[] = [];
  const lines = linesOf(boot.output);
  const end = lines.reduce((last, { parsed }) => Math.max(last, parsed?.time ?? 0), 0);
  const unnamed = new Map<string, number>();
  const suppressed = new Map<string, number>();
  /** Codes named since the last attempt; link_down is named once per outage. */
  let named = new Set<string>();
  let linkNamed = false;
  for (const { raw, parsed } of lines) {
    if (!parsed) continue;
    if (parsed.area === "diag") {
      if (parsed.suppressed !== undefined) {
        suppressed.set(parsed.event, (suppressed.get(parsed.event) ?? 0) + parsed.suppressed);
        continue;
      }
      named.add(parsed.event);
      if (parsed.event === "link_down") linkNamed = true;
      const info = knownFailure(parsed.event);
      if (!info)
        found.push({ invariant: "named", detail: `boot ${index}: no such failure code: ${raw.slice(0, 200)}` });
      else if (parsed.fields.hint !== info.hint) {
        found.push({
          invariant: "named",
          detail: `boot ${index}: a failure line without its hint: ${raw.slice(0, 200)}`,
        });
      }
    } else if (parsed.area === "link" && parsed.event === "up") linkNamed = false;
    else if (parsed.area === "mqtt" && parsed.event === "connecting") named = new Set();
    else if (parsed.area === "mqtt" && parsed.event === "retry" && parsed.suppressed === undefined) {
      const cause = causeOf(parsed.fields.reason ?? "");
      if (!knownFailure(cause)) continue;
      const ok = cause === "link_down" ? linkNamed || named.has(cause) : named.has(cause);
      // Held back by the rate limit at the end of the run: its summary has not been printed yet.
      if (!ok && end - parsed.time >= LOG_WINDOW) unnamed.set(cause, (unnamed.get(cause) ?? 0) + 1);
    }
  }
  for (const [cause, count] of unnamed) {
    const covered = suppressed.get(cause) ?? 0;
    if (count > covered) {
      found.push({
        invariant: "named",
        detail: `boot ${index}: ${count - covered} retries after ${cause} with no diag ${cause} line (nor a summary counting it)`,
      });
    }
  }
  return found;
}

function knownFailure(code: string): FailureInfo | undefined {
  return FAILURES.find((info) => info.code === code);
}

function checkSettle(settle: Settle | undefined): Violation[] {
  if (!settle) return [];
  const { healedAt, connectedAt, bound } = settle;
  if (connectedAt === undefined || connectedAt - healedAt > bound) {
    const when = connectedAt === undefined ? "not at all" : `only after ${connectedAt - healedAt} ms`;
    return [
      { invariant: "settle", detail: `faults ended at uptime ${healedAt} ms; connected ${when} (bound ${bound} ms)` },
    ];
  }
  if (!settle.drained) {
    return [
      { invariant: "settle", detail: `still holding messages in flight or waiting ${bound} ms after the faults ended` },
    ];
  }
  return [];
}

/**
 * Whether a line's field shows `topic`: whole (alone, or inside a sentence, not as the start of a longer topic), or
 * cut short as log lines show long topics (`...(<length>)`).
 */
export function mentions(line: ParsedLine, topic: string): boolean {
  for (const value of Object.values(line.fields)) {
    for (let at = value.indexOf(topic); at >= 0 && topic !== ""; at = value.indexOf(topic, at + 1)) {
      const after = value[at + topic.length];
      if (after === undefined || /[\s:;,)"']/.test(after)) return true;
    }
    const cut = /^(.*)\.\.\.\(\d+\)$/s.exec(value);
    if (cut && cut[1]!.length > 0 && topic.startsWith(cut[1]!)) return true;
  }
  return false;
}

export interface DeliveryStats {
  /** QoS 1/2 messages the API accepted, and how many arrived. */
  accepted: number;
  delivered: number;
  /** Refused at the API (invalid, full, an error line) or never seen leaving (a remote publish). */
  refused: number;
  /** Accepted, not delivered, and named on serial. */
  named: number;
  /** Not the device's to deliver or name (see the file's comment). */
  excused: number;
  /** Messages that arrived more than once where that is allowed (QoS 1, retained, or a command run twice). */
  duplicatesQos1: number;
}

function accepted(message: Published, outputs: string): boolean | undefined {
  if (message.via === "serial") return message.result === "sent" || message.result === "queued";
  if (message.replies?.length) return message.replies.some((reply) => /^pub (sent|queued)$/.test(reply));
  // An MQTT 3.1.1 device's reply carries no correlation: the trace shows whether the message went out.
  return outputs.includes(`payload=${message.tag}`) ? true : undefined;
}

function checkDelivery(record: RunRecord, stats: DeliveryStats): Violation[] {
  const found: Violation[] = [];
  const { broker } = record.plan;
  const logs = record.boots.map((boot) => linesOf(boot.output).flatMap(({ parsed }) => (parsed ? [parsed] : [])));
  const outputs = record.boots.map((boot) => boot.output).join("\n");
  for (const m of record.messages) {
    if (m.qos === 0) continue;
    const count = record.deliveries.get(m.tag) ?? 0;
    const ok = accepted(m, outputs);
    const what = `message ${m.tag} (${m.via}, qos ${m.qos}${m.retain ? ", retained" : ""}, topic ${JSON.stringify(m.topic.slice(0, 80))}, boot ${m.boot})`;
    if (ok === false) {
      stats.refused++;
      if (count > 0)
        found.push({
          invariant: "delivery",
          detail: `${what}: refused (${m.replies?.join(", ") ?? m.result}) yet delivered ${count}x`,
        });
      continue;
    }
    if (ok === undefined && count === 0) {
      stats.refused++;
      continue;
    }
    stats.accepted++;
    if (count > 0) {
      stats.delivered++;
      const granted = Math.min(m.qos, broker.maxQos);
      // Exactly once holds within a session: a clean start forgets what the broker received, and a message resent
      // on the new session may arrive again. A command comes at QoS 1 (the device subscribes to its command topic
      // so): it may arrive, and run, twice. A device that finds its stored session incomplete at a boot starts one
      // connection clean on purpose (`next connection starts a clean session`): what it carries over (a message
      // stored while waiting, say) is resent on a new session, so from that boot on exactly once does not hold.
      // So is what a connection that finds no session (`connected session=new requeued=N`: a later boot that keeps
      // none, or a broker that lost it) sends again as new messages.
      const cleanLater = logs
        .slice(m.boot)
        .some((lines) =>
          lines.some(
            (line) =>
              (line.event === "warning" &&
                (line.fields.message ?? "").startsWith("next connection starts a clean session")) ||
              (line.area === "mqtt" && line.event === "connected" && line.fields.requeued !== undefined),
          ),
        );
      const once =
        granted === 2 && !m.retain && m.via === "serial" && record.boots[m.boot]!.keepsSession && !cleanLater;
      if (count > 1 && once) {
        found.push({ invariant: "delivery", detail: `${what}: QoS 2 delivered ${count} times` });
      } else if (count > 1) stats.duplicatesQos1++;
      continue;
    }
    const boot = record.boots[m.boot]!;
    // A later boot may send it, with another protocol version (`config set mqttVersion`).
    const sent311 = record.boots.slice(m.boot).some((b) => b.version !== "5");
    const denied = broker.acl && m.topic.startsWith(DENIED);
    // mosquitto 2.0.11 with max_inflight_messages 1 acknowledges a 3.1.1 client's QoS 1 and 2 messages beyond the
    // first in flight and drops them (checked with MQTT.js: one of four back-to-back arrives); 3.1.1 has no way to
    // announce the limit, so the device cannot know.
    const inflightDrop = broker.maxInflight === 1 && sent311;
    // A broker's Maximum QoS 0 makes every message QoS 0: once one has left, at most once is all the protocol
    // promises (a connection cut after it loses it, with no ack to say so).
    const atMostOnce =
      broker.maxQos === 0 && record.boots.slice(m.boot).some((b) => b.output.includes(`payload=${m.tag}`));
    // Downgraded to a broker's Maximum QoS 0, a denied publish gets no ack to say so, in 5.0 too.
    if (
      (denied && (sent311 || broker.maxQos === 0)) ||
      inflightDrop ||
      atMostOnce ||
      (boot.ended !== "end" && !boot.keepsSession)
    ) {
      stats.excused++;
      continue;
    }
    // A reboot that found its stored session incomplete says so once, for all it lost (the next connection is clean).
    const unstored = (logs[m.boot + 1] ?? []).some(
      (line) => line.event === "warning" && (line.fields.message ?? "").includes("could not all be stored"),
    );
    // Messages a reboot lost from RAM are named by count, not by topic (`diag message_dropped`): at the shutdown that
    // loses them, or at the next boot after a power cut. In its own boot, a message that never left (it waited); in a
    // later one, any (a stored flight read back, then lost with a session no longer kept, say).
    const left = boot.output.includes(`payload=${m.tag}`);
    const dropped = logs
      .slice(m.boot)
      .some((lines, i) =>
        lines.some(
          (line) =>
            line.area === "diag" &&
            line.event === "message_dropped" &&
            (i > 0 || (!left && line.fields.when === "shutdown")),
        ),
      );
    if (
      unstored ||
      dropped ||
      logs.slice(m.boot).some((lines) => lines.some((line) => isNaming(line) && mentions(line, m.topic)))
    ) {
      stats.named++;
      continue;
    }
    // What the triage needs first: whether it ever left the device before its boot ended.
    const end = boot.ended === "end" ? "" : left ? "" : `; never sent before the boot ended (${boot.ended})`;
    found.push({
      invariant: "delivery",
      detail: `${what}: accepted (${m.replies?.join(", ") ?? m.result}), never delivered, never named${end}`,
    });
  }
  return found;
}

/** A line that may name a message's fate: a failure (denied, too large, quarantined), a warning, a stored one dropped. */
function isNaming(line: ParsedLine): boolean {
  const event = `${line.area} ${line.event}`;
  return line.area === "diag" || event === "mqtt warning" || event === "app storage_error";
}

export interface Verdict {
  violations: Violation[];
  delivery: DeliveryStats;
  attempts: number;
}

/** Every invariant over a run's record. */
export function check(record: RunRecord, limits: Limits = DEFAULT_LIMITS): Verdict {
  const delivery: DeliveryStats = { accepted: 0, delivered: 0, refused: 0, named: 0, excused: 0, duplicatesQos1: 0 };
  const violations: Violation[] = record.errors.map((detail) => ({ invariant: "harness" as const, detail }));
  record.boots.forEach((boot, i) => {
    violations.push(...checkHalt(boot, i), ...checkAttempts(boot, i, limits), ...checkNamed(boot, i));
  });
  violations.push(...checkSettle(record.settle), ...checkDelivery(record, delivery));
  for (const probe of record.probes) {
    if (probe.arrived) continue;
    const filters = probe.filters.map((filter) => JSON.stringify(filter)).join(", ");
    violations.push({
      invariant: "subscription",
      detail: `subscribed to ${filters} on the console in the last boot, yet a message to ${probe.topic} never reached the device`,
    });
  }
  const total = record.boots.reduce((sum, boot) => sum + attempts(boot.output).length, 0);
  return { violations, delivery, attempts: total };
}
