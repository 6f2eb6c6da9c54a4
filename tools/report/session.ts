// A saved serial log read back into what happened: connection periods, failures, reconnect delays, round trips,
// keep-alive changes, traffic and heap figures, each with the line that said it. Log lines are read with parseLine
// (modules/diag/log.ts); other lines (console output, noise from a board's boot loader) are skipped, except the
// heap figure of a `status` reply. Uptimes restart at each boot: times here run on across reboots.

import { type Code, FAILURES } from "tether/diag/codes";
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

export interface Session {
  /** Lines in the file, and how many of them were log lines. */
  lines: number;
  logLines: number;
  boots: number;
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
}

const KNOWN = new Set<string>(FAILURES.map((f) => f.code));

/** Whether a failure line ends the connection it happens on (it reports the connection's uptime). */
const endsConnection = (line: ParsedLine) => line.fields.uptime !== undefined || line.fields.error !== undefined;

export function readSession(text: string): Session {
  const session: Session = {
    lines: 0,
    logLines: 0,
    boots: 0,
    span: 0,
    periods: [],
    failures: [],
    retries: [],
    rtts: [],
    keepAlive: [],
    traffic: [],
    heap: [],
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
  lines.forEach((raw, index) => {
    const line = index + 1;
    const parsed = parseLine(raw);
    if (!parsed) {
      // Console replies with the heap: `status` (`| uptime_ms=T heap_used=N ...`), `stats` (`| heap used=N ...`).
      const heap = /^\| (?:.*\buptime_ms=(\d+) )?.*\bheap[_ ]used=(\d+)/.exec(raw);
      if (heap && last >= 0) {
        const t = heap[1] === undefined ? last : Math.max(last, Number(heap[1]) + offset);
        session.heap.push({ t, line, value: Number(heap[2]) });
      }
      return;
    }
    session.logLines++;
    // The uptime went back: the device rebooted. Time goes on from the last line seen.
    if (last >= 0 && parsed.time + offset < last) offset = last;
    const t = parsed.time + offset;
    last = t;
    const at = { t, line };
    const { area, event, fields } = parsed;
    const number = (key: string) =>
      fields[key] !== undefined && /^\d+$/.test(fields[key]) ? Number(fields[key]) : undefined;
    if (area === "app" && event === "boot") {
      close(t, "reboot");
      session.boots++;
    } else if (area === "app" && event === "shutdown") close(t, "shutdown");
    else if (area === "mqtt" && event === "connected") {
      close(t, "reconnect");
      open = { ...at, end: t, endedBy: "still up" };
      session.periods.push(open);
      if (number("rtt") !== undefined) session.rtts.push({ ...at, value: number("rtt")! });
      if (number("keepalive") !== undefined) session.keepAlive.push({ ...at, value: number("keepalive")! });
    } else if (area === "mqtt" && event === "closed") close(t, "closed");
    else if (area === "mqtt" && event === "retry" && number("in_ms") !== undefined) {
      session.retries.push({ ...at, value: number("in_ms")! });
    } else if (area === "keepalive" && event === "pong" && number("rtt") !== undefined) {
      session.rtts.push({ ...at, value: number("rtt")! });
    } else if (area === "keepalive" && event === "tuned") {
      const change = /-> (\d+) s/.exec(fields.change ?? "");
      if (change) session.keepAlive.push({ ...at, value: Number(change[1]) });
    } else if (area === "mqtt" && event === "message" && number("bytes") !== undefined) {
      session.traffic.push({ ...at, value: number("bytes")! });
    } else if (area === "trace" && number("size") !== undefined) {
      session.traffic.push({ ...at, value: number("size")! });
    } else if (area === "diag" && KNOWN.has(event)) {
      session.failures.push({
        ...at,
        code: event,
        text: raw,
        repeats: parsed.suppressed ?? 1,
        summary: parsed.suppressed !== undefined,
      });
      if (parsed.suppressed === undefined && endsConnection(parsed)) close(t, event);
      if (event === "low_memory" && number("used") !== undefined) session.heap.push({ ...at, value: number("used")! });
    }
    if (area === "heap" && number("used") !== undefined) session.heap.push({ ...at, value: number("used")! });
  });
  close(last, "still up");
  session.span = Math.max(0, last);
  return session;
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
