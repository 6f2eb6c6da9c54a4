// The broker's own log (mosquitto's), read beside the device's: its lines about the device's client id and its own
// starts and stops, placed on the device's time. The two clocks share nothing: the device counts uptime from each
// boot, mosquitto prints wall-clock seconds. They are aligned by the events both saw: each connection the device
// logs as `mqtt connected` is one the broker logs as `New client connected ... as <client id>`, and a DISCONNECT
// the device sent is one the broker logs as `Client <id> disconnected.`. mosquitto's timestamps are whole seconds,
// so each pair says the offset lies within a one-second window; the windows of one boot are intersected (each boot
// has its own offset: how long a board was off is not in its log).

import type { Code } from "tether/diag/codes";
import { FAILURES } from "tether/diag/failures";
import type { BrokerMark } from "./html";
import type { Session } from "./session";

export type BrokerKind =
  | "connected"
  | "disconnected"
  | "closed"
  | "timeout"
  | "takeover"
  | "not_authorised"
  | "socket_error"
  | "protocol_error"
  | "start"
  | "stop"
  | "other";

export interface BrokerLine {
  /** 1-based line number in the broker's log. */
  line: number;
  /** Wall-clock time the broker printed, ms (whole seconds in mosquitto's default format). */
  at: number;
  text: string;
  kind: BrokerKind;
  /** The client id the line names, if any. */
  client?: string;
}

/** What each kind of line tells about a connection of the device that ended there. */
const MEANING: Partial<Record<BrokerKind, string>> = {
  disconnected: "the broker received the device's DISCONNECT",
  closed: "the broker saw the connection closed from the device's side (by the device, or by something on the path)",
  timeout: "the broker gave up on the device's keep alive: nothing arrived from it for 1.5 keep-alive periods",
  takeover: "another client connected with the same client id, and the broker closed the device's connection",
  not_authorised: "the broker refused the device's credentials",
  socket_error: "the broker's socket to the device failed (a reset or an error on the path)",
  protocol_error: "the broker closed the connection over a packet it took for a protocol error",
  stop: "the broker was shutting down",
};

const KINDS: [RegExp, BrokerKind][] = [
  [/^New client connected from \S+ as (\S+) /, "connected"],
  [/^Client (\S+) disconnected\.$/, "disconnected"],
  [/^Client (\S+) closed its connection\.$/, "closed"],
  [/^Client (\S+) has exceeded timeout, disconnecting\.$/, "timeout"],
  [/^Client (\S+) already connected, closing old connection\.$/, "takeover"],
  [/^Client (\S+) disconnected, not authori[sz]ed\.$/, "not_authorised"],
  [/^Socket error on client (\S+), disconnecting\.$/, "socket_error"],
  [/^Client (\S+) disconnected due to (?:protocol error|malformed packet)/, "protocol_error"],
  [/^mosquitto version \S+ (?:starting|running)$/, "start"],
  [/^mosquitto version \S+ terminating$/, "stop"],
];

/** mosquitto's lines: `<epoch seconds>: <text>` (its default) or `<YYYY-MM-DDTHH:MM:SS>: <text>`. */
export function readBrokerLog(text: string): BrokerLine[] {
  const out: BrokerLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const epoch = /^(\d{9,})(?:\.(\d+))?: (.*)$/.exec(raw);
    const iso = epoch ? undefined : /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d+))?: (.*)$/.exec(raw);
    const match = epoch ?? iso;
    if (!match) return;
    const whole = epoch ? Number(match[1]) * 1000 : Date.parse(`${match[1]!.replace(" ", "T")}Z`);
    if (!Number.isFinite(whole)) return;
    const at = whole + (match[2] ? Number(`0.${match[2]}`) * 1000 : 0);
    const body = match[3]!;
    const line: BrokerLine = { line: index + 1, at, text: body, kind: "other" };
    for (const [pattern, kind] of KINDS) {
      const found = pattern.exec(body);
      if (found) {
        line.kind = kind;
        if (found[1]) line.client = found[1];
        break;
      }
    }
    out.push(line);
  });
  return out;
}

export interface Merged {
  marks: BrokerMark[];
  /** How the clocks were aligned, in words. */
  alignment: string;
  /** What the broker's side adds to the verdict; undefined when it says nothing about the connections' ends. */
  verdict?: string;
  /** The failure the broker's side points at, when it names one the device could not see (a takeover). */
  code?: Code;
}

/** Broker lines that name a cause the device's side cannot tell apart. */
const POINTS_AT: Partial<Record<BrokerKind, Code>> = {
  takeover: "session_taken_over",
  not_authorised: "bad_credentials",
  timeout: "keepalive_timeout",
};

/** How close (ms) a broker line must fall to a device event, after alignment, to be taken for the same moment. */
const SAME_MOMENT = 2500;

/**
 * The broker's lines about `clientId` (and its own starts and stops) on the device's time, or an explanation of
 * why they cannot be placed (no event both saw).
 */
export function mergeBrokerLog(session: Session, deviceLog: string, broker: BrokerLine[]): Merged | string {
  const clientId = /\bI app boot .*\bclient_id=(\S+)/.exec(deviceLog)?.[1];
  if (!clientId) return "the device's log has no boot line naming its client id";
  const mine = broker.filter((b) => b.client === clientId || b.kind === "start" || b.kind === "stop");
  // The events both saw, per boot: the device's connections and goodbyes.
  const boots = session.bootsAt.length ? session.bootsAt.map((b) => b.t) : [0];
  const bootOf = (t: number) => {
    let k = 0;
    while (k + 1 < boots.length && boots[k + 1]! <= t) k++;
    return k;
  };
  const deviceConnects = session.events.filter((e) => e.kind === "connected");
  const deviceGoodbyes = session.events.filter((e) => e.kind === "closed" && /reason=shutdown/.test(e.text));
  const brokerConnects = mine.filter((b) => b.kind === "connected");
  const brokerGoodbyes = mine.filter((b) => b.kind === "disconnected");
  // Offsets (broker time minus device time) per boot, each pair a window [d, d + 1000) for whole seconds.
  const windows: { low: number; high: number; pairs: number }[] = boots.map(() => ({
    low: Number.NEGATIVE_INFINITY,
    high: Number.POSITIVE_INFINITY,
    pairs: 0,
  }));
  const pair = (device: { t: number }[], seen: BrokerLine[]) => {
    // In order: the nth connection the device logs is the nth the broker logs for its client id, from the first
    // one that keeps every later pair within a few seconds of the first pair's offset.
    const count = Math.min(device.length, seen.length);
    for (let i = 0; i < count; i++) {
      const d = device[device.length - count + i]!;
      const b = seen[seen.length - count + i]!;
      const w = windows[bootOf(d.t)]!;
      // mosquitto prints whole seconds, cut down: the moment was within the second after the one printed. The
      // broker logs a connection before the device reads its CONNACK: a little slack the other way.
      const resolution = b.at % 1000 === 0 ? 1000 : 1;
      const low = b.at - d.t - 100;
      const high = b.at - d.t + resolution;
      if (Math.max(w.low, low) > Math.min(w.high, high)) continue;
      w.low = Math.max(w.low, low);
      w.high = Math.min(w.high, high);
      w.pairs++;
    }
  };
  pair(deviceConnects, brokerConnects);
  pair(deviceGoodbyes, brokerGoodbyes);
  const offsets = windows.map((w) => (w.pairs ? (w.low + w.high) / 2 : undefined));
  const known = offsets.findIndex((o) => o !== undefined);
  if (known < 0) return `no event both saw: the broker's log has no connection of client id ${clientId}`;
  // A boot without a pair borrows its neighbour's offset (the time it was off is unknown).
  for (let k = 0; k < offsets.length; k++) offsets[k] ??= offsets[k - 1] ?? offsets[known];
  const pairs = windows.reduce((sum, w) => sum + w.pairs, 0);
  const width = Math.max(...windows.filter((w) => w.pairs).map((w) => w.high - w.low));
  const marks: BrokerMark[] = [];
  for (const b of mine) {
    // The boot whose stretch of broker time holds the line; before the first, the first.
    let k = 0;
    for (let j = 0; j < boots.length; j++) if (b.at - offsets[j]! >= boots[j]!) k = j;
    const t = b.at - offsets[k]!;
    if (t < -SAME_MOMENT || t > session.span + SAME_MOMENT) continue;
    marks.push({ t: Math.max(0, t), line: b.line, text: b.text, ends: MEANING[b.kind] !== undefined });
  }
  return {
    marks,
    alignment: `clocks aligned by ${pairs} event${pairs === 1 ? "" : "s"} both saw, to within ${Math.round(width)} ms`,
    ...brokerVerdict(session, mine, offsets, boots),
  };
}

/** What the broker logged at the ends of the device's connections that a failure ended, in one sentence. */
function brokerVerdict(
  session: Session,
  lines: BrokerLine[],
  offsets: (number | undefined)[],
  boots: number[],
): { verdict?: string; code?: Code } {
  const ended = session.periods.filter((p) => FAILURES.some((f) => f.code === p.endedBy));
  if (ended.length === 0) return {};
  const found = new Map<BrokerKind | "nothing", { count: number; example?: BrokerLine; codes: Set<string> }>();
  for (const period of ended) {
    let k = 0;
    while (k + 1 < boots.length && boots[k + 1]! <= period.end) k++;
    const at = period.end + offsets[k]!;
    const near = lines
      .filter((b) => MEANING[b.kind] !== undefined && b.kind !== "disconnected" && Math.abs(b.at - at) <= SAME_MOMENT)
      .sort((a, b) => Math.abs(a.at - at) - Math.abs(b.at - at))[0];
    const key = near?.kind ?? "nothing";
    const entry = found.get(key) ?? { count: 0, example: near, codes: new Set<string>() };
    entry.count++;
    entry.codes.add(period.endedBy);
    found.set(key, entry);
  }
  const [kind, { count, example, codes }] = [...found].sort((a, b) => b[1].count - a[1].count)[0]!;
  const of = `${count} of the ${ended.length} connection${ended.length === 1 ? "" : "s"} a failure ended (${[...codes].join(", ")})`;
  if (kind === "nothing") {
    return {
      verdict: `for ${of}, the broker logged nothing within ${SAME_MOMENT / 1000} s: the connection was cut on the path (a NAT, a firewall, a proxy), or the broker's log level hides it.`,
    };
  }
  const meaning = MEANING[kind]!;
  const path =
    kind === "closed" && [...codes].some((c) => c === "broker_closed" || c === "tcp_reset")
      ? "; the device saw the broker close it, the broker saw the device close it: something between them cut it"
      : "";
  return {
    verdict: `for ${of}, the broker logged "${example!.text}" (broker log line ${example!.line}): ${meaning}${path}.`,
    code: POINTS_AT[kind],
  };
}
