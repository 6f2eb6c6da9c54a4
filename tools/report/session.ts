// A saved serial log read back into what happened: boots, connection periods, failures, reconnect delays, round
// trips, keep-alive changes, traffic and heap figures, each with the line that said it, and the events in order with
// repeats coalesced. Log lines are read with parseLine (modules/diag/log.ts); of other lines, console replies give
// the heap and the device's own failure counts (`stats`), and the ROM's reset line marks a board reset. Uptimes
// restart at each boot: times here run on across reboots, which the boots mark (how long a board was off is not in
// its log).

import type { Code } from "tether/diag/codes";
import { FAILURES } from "tether/diag/failures";
import { type ParsedLine, parseLine } from "tether/diag/log";

/** A point in the session: milliseconds since the boot, and the 1-based line number in the file. */
export interface At {
  t: number;
  line: number;
}

export interface Period extends At {
  /** When it ended (the last line's time when it had not). */
  end: number;
  /** The code of the failure that ended it, or how it ended otherwise ("closed", "reboot", "still up"). */
  endedBy: string;
}

export interface Failure extends At {
  code: string;
  text: string;
  /** How many identical lines it stands for: N for a `... N similar suppressed` summary, else 1. */
  repeats: number;
  /** Whether it is such a summary (it repeats the code, not the facts). */
  summary: boolean;
}

export interface Sample extends At {
  value: number;
}

/** One row of the event table: an event, or a run of the same failure coalesced. */
export interface Event extends At {
  kind: "boot" | "connected" | "closed" | "failure" | "tuned" | "shutdown";
  /** The failure's code, for a failure. */
  code?: string;
  /** The first line's text. */
  text: string;
  /** How many lines (and suppressed repeats) it stands for, and when the last of them came. */
  count: number;
  end: number;
  lastLine: number;
}

export interface Session {
  /** Lines in the file, and how many of them were log lines. */
  lines: number;
  logLines: number;
  boots: number;
  /** Where each boot starts: the firmware's `app boot` line (or the ROM's reset line before it). */
  bootsAt: At[];
  /** From the (first) boot to the last log line, ms: times here count from the boot, as uptimes do. */
  span: number;
  periods: Period[];
  failures: Failure[];
  /** Reconnect delays, ms. */
  retries: Sample[];
  /** Round-trip times, ms: CONNECT to CONNACK, and PINGREQ to PINGRESP where the log level shows them. */
  rtts: Sample[];
  /** Keep alive in force, s: at each connection, and each change the tuner made. */
  keepAlive: Sample[];
  /** Bytes of messages received and packets traced, per line. */
  traffic: Sample[];
  /** Heap in use, bytes, wherever a line says it. */
  heap: Sample[];
  /** The events in order, repeats of a failure coalesced. */
  events: Event[];
  /** Failures by code as the device counted them, from the last `stats` reply; undefined without one. */
  deviceCounts?: { line: number; counts: Record<string, number> };
}

const KNOWN = new Set<string>(FAILURES.map((f) => f.code));

/** Whether a failure line ends the connection it happens on (it reports the connection's uptime). */
const endsConnection = (line: ParsedLine) => line.fields.uptime !== undefined || line.fields.error !== undefined;

export function readSession(text: string): Session {
  const session: Session = {
    lines: 0,
    logLines: 0,
    boots: 0,
    bootsAt: [],
    span: 0,
    periods: [],
    failures: [],
    retries: [],
    rtts: [],
    keepAlive: [],
    traffic: [],
    heap: [],
    events: [],
  };
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  session.lines = lines.length;
  let offset = 0;
  let last = -1;
  let open: Period | undefined;
  const close = (t: number, endedBy: string) => {
    if (!open) return;
    open.end = t;
    open.endedBy = endedBy;
    open = undefined;
  };
  /** A ROM reset line seen since the last boot line: the boot starts there. */
  let reset: number | undefined;
  const event = (at: At, kind: Event["kind"], text: string, code?: string, count = 1) => {
    const previous = session.events.at(-1);
    // A failure like the one before it (nothing but retries between) is one row with a count.
    if (kind === "failure" && previous?.kind === "failure" && previous.code === code) {
      previous.count += count;
      previous.end = at.t;
      previous.lastLine = at.line;
      return;
    }
    session.events.push({ ...at, kind, code, text, count, end: at.t, lastLine: at.line });
  };
  lines.forEach((raw, index) => {
    const line = index + 1;
    const parsed = parseLine(raw);
    const heap = heapIn(raw, parsed);
    if (!parsed) {
      if (/^rst:0x[0-9a-f]+ \(/.test(raw)) reset ??= line;
      const failures = /^\| failures((?: [\w.]+=\d+)*)$/.exec(raw);
      if (failures) {
        const counts: Record<string, number> = {};
        for (const [, code, n] of failures[1]!.matchAll(/ ([\w.]+)=(\d+)/g)) counts[code!] = Number(n);
        session.deviceCounts = { line, counts };
      }
      if (heap !== undefined && last >= 0) {
        const uptime = /\buptime_ms=(\d+)/.exec(raw);
        const t = uptime ? Math.max(last, Number(uptime[1]) + offset) : last;
        session.heap.push({ t, line, value: heap });
      }
      return;
    }
    session.logLines++;
    // The uptime went back: the device rebooted. Time goes on from the last line seen.
    if (last >= 0 && parsed.time + offset < last) offset = last;
    const t = parsed.time + offset;
    last = t;
    const at = { t, line };
    const { area, event: name, fields } = parsed;
    const number = (key: string) =>
      fields[key] !== undefined && /^\d+$/.test(fields[key]) ? Number(fields[key]) : undefined;
    if (heap !== undefined) session.heap.push({ ...at, value: heap });
    if (area === "app" && name === "boot") {
      close(t, "reboot");
      session.boots++;
      // A boot starts at uptime 0, where the ROM's reset line (if any) was printed.
      session.bootsAt.push({ t: t - parsed.time, line: reset ?? line });
      reset = undefined;
      event(at, "boot", raw);
    } else if (area === "app" && name === "shutdown") {
      close(t, "shutdown");
      event(at, "shutdown", raw);
    } else if (area === "mqtt" && name === "connected") {
      close(t, "reconnect");
      open = { ...at, end: t, endedBy: "still up" };
      session.periods.push(open);
      event(at, "connected", raw);
      if (number("rtt") !== undefined) session.rtts.push({ ...at, value: number("rtt")! });
      if (number("keepalive") !== undefined) session.keepAlive.push({ ...at, value: number("keepalive")! });
    } else if (area === "mqtt" && name === "closed") {
      close(t, "closed");
      event(at, "closed", raw);
    } else if (area === "mqtt" && name === "retry" && number("in_ms") !== undefined) {
      session.retries.push({ ...at, value: number("in_ms")! });
    } else if (area === "keepalive" && name === "pong" && number("rtt") !== undefined) {
      session.rtts.push({ ...at, value: number("rtt")! });
    } else if (area === "keepalive" && name === "tuned") {
      const change = /-> (\d+) s/.exec(fields.change ?? "");
      if (change) session.keepAlive.push({ ...at, value: Number(change[1]) });
      event(at, "tuned", raw);
    } else if (area === "mqtt" && name === "message" && number("bytes") !== undefined) {
      session.traffic.push({ ...at, value: number("bytes")! });
    } else if (area === "trace" && number("size") !== undefined) {
      session.traffic.push({ ...at, value: number("size")! });
    } else if (area === "log" && name === "held_back") {
      // The serial budget held these lines back and counted them by area and event (`codes=diag.x:4,mqtt.y:9`): a
      // failure's count includes them, as the device's own does.
      for (const entry of (fields.codes ?? "").split(",")) {
        const [key, count] = entry.split(":");
        const code = key?.startsWith("diag.") ? key.slice(5) : "";
        const n = Number(count);
        if (!KNOWN.has(code) || !(n > 0)) continue;
        session.failures.push({ ...at, code, text: raw, repeats: n, summary: true });
        event(at, "failure", raw, code, n);
      }
    } else if (area === "diag" && KNOWN.has(name)) {
      session.failures.push({
        ...at,
        code: name,
        text: raw,
        repeats: parsed.suppressed ?? 1,
        summary: parsed.suppressed !== undefined,
      });
      event(at, "failure", raw, name, parsed.suppressed ?? 1);
      if (parsed.suppressed === undefined && endsConnection(parsed)) close(t, name);
    }
  });
  close(last, "still up");
  session.span = Math.max(0, last);
  return session;
}

/**
 * The heap in use a line gives, in bytes: `status` (`heap_used=`), `stats` (`| heap used=`), low_memory and
 * `heap recovered` (`used=`), any field `heap=`, and the status beacon's JSON (`"heap":N`, in a traced payload or a
 * received message).
 */
function heapIn(raw: string, parsed: ParsedLine | undefined): number | undefined {
  if (parsed) {
    const { area, event, fields } = parsed;
    const value =
      fields.heap_used ??
      fields.heap ??
      ((area === "heap" || (area === "diag" && event === "low_memory")) && parsed.suppressed === undefined
        ? fields.used
        : undefined) ??
      /"heap":(\d+)/.exec(fields.payload ?? "")?.[1];
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  }
  const match = /^\| (?:.*\bheap_used=(\d+)|heap used=(\d+))/.exec(raw);
  return match ? Number(match[1] ?? match[2]) : undefined;
}

/** Failures by code, most lines first: how many (counting suppressed repeats), the first and last line. */
export function failuresByCode(session: Session): { code: Code; count: number; first: Failure; last: Failure }[] {
  const byCode = new Map<string, { code: Code; count: number; first: Failure; last: Failure }>();
  for (const failure of session.failures) {
    const entry = byCode.get(failure.code);
    if (entry) {
      entry.count += failure.repeats;
      entry.last = failure;
    } else
      byCode.set(failure.code, { code: failure.code as Code, count: failure.repeats, first: failure, last: failure });
  }
  return [...byCode.values()].sort((a, b) => b.count - a.count);
}
