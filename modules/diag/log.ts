// Log lines for people and scripts alike, one format everywhere:
//
//   <uptime ms> <level letter> <area> <event> key=value key=value ...
//
// e.g. `81234 W diag tcp_refused broker=mqtt://10.0.0.5:1883 hint="..."`. Level letters are E W I D T.
// Area, event and keys are names: letters, digits and `_ . : / -` (anything else becomes `_`). Values use the
// console's syntax (quote() in syntax.ts): plain when they can be, else double-quoted with escapes, so the
// console's tokenizer reads a line back exactly (parseLine).
//
// Rate limit: a line identical to one printed (same level, area, event and fields) within `window` ms of it is not
// printed but counted. The logger remembers the last few distinct lines, so a retry loop that prints several
// kinds of line (connecting, the failure, the retry) still has its repeated failure line held back. A count is
// reported as `<uptime> <L> <area> <event> ... <N> similar suppressed` once that line's window has passed: when an
// identical line comes after the window (it is then printed and opens a new window), or on tick(). So a steady
// stream of one message prints one line and one summary per window, and nothing is ever lost silently.
//
// The rate limit is for the log only: record() prints every line it is given, in place, and leaves the rate
// limit's memory alone. The packet trace uses it: each of its lines is one packet on the wire, so two identical
// lines (a resent PUBREL, the same message twice) are two packets, and a summary seconds later could not say which.
//
// Budget: at most `budget` lines a second reach the serial port on average, in bursts of up to BURST seconds' worth
// (a token bucket): a broker that sends 5,000 PUBACKs with unknown ids, or 20,000 messages on distinct topics, would
// otherwise hold the port for half a minute (115200 baud moves about 11 KB a second). Lines past the budget are
// counted by area and event, not printed; once a window has passed the count is printed as one line that is never
// held back itself: `<uptime> I log held_back lines=4980 codes=mqtt.warning:4980 ms=9537 budget=20`. Lines held back as
// identical copies (above) do not spend the budget.
//
// Secrets are hidden by field, never by searching other text for them: values of keys that name a secret
// (password, token, key, auth, ...) print as `***`, and so does the password part of a URL
// (`mqtt://user:***@host`). Replacing a password's text wherever it appeared gave it away: with the password
// `wrong`, a hint read `for a *** password`. What might carry a secret in free text is kept out at its source (a
// `config set` of a secret arriving on the command topic is traced with its value replaced).

import { Bucket } from "tether/diag/bucket";
import { quote, tokenize } from "tether/diag/syntax";

export const ERROR = 0;
export const WARN = 1;
export const INFO = 2;
export const DEBUG = 3;
export const TRACE = 4;
export type Level = 0 | 1 | 2 | 3 | 4;

export const LEVEL_NAMES = Object.freeze(["error", "warn", "info", "debug", "trace"] as const);
const LETTERS = "EWIDT";

export type Value = string | number | boolean | undefined;
/** A line's fields in print order; undefined values are left out. */
export type Fields = Readonly<Record<string, Value>>;

export interface ParsedLine {
  time: number;
  level: Level;
  area: string;
  event: string;
  /** Values as strings, unescaped. */
  fields: Record<string, string>;
  /** Set on a `... N similar suppressed` summary line. */
  suppressed?: number;
}

/** The level named `name` (error, warn, info, debug, trace), or undefined. */
export function levelFromName(name: string): Level | undefined {
  const level = (LEVEL_NAMES as readonly string[]).indexOf(name);
  return level < 0 ? undefined : (level as Level);
}

const SECRET_KEY =
  /^(auth|key|pass|pwd|psk)$|passw(or)?d$|passphrase$|token$|secret$|authenticationdata$|(api|private)key$|credentials?$/i;

/** Whether the value of a field named `key` is always redacted. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function name(text: string): string {
  return /^[\w.:/-]+$/.test(text) ? text : text.replace(/[^\w.:/-]/g, "_") || "_";
}

/** A URL's password (`scheme://user:password@host`) hidden; any other value as it is. */
function hideUserinfo(value: string): string {
  const scheme = value.indexOf("://");
  if (scheme < 0) return value;
  const at = value.indexOf("@", scheme + 3);
  const colon = value.indexOf(":", scheme + 3);
  const slash = value.indexOf("/", scheme + 3);
  if (at < 0 || colon < 0 || colon > at || (slash >= 0 && slash < at)) return value;
  return `${value.slice(0, colon + 1)}***${value.slice(at)}`;
}

/** Fields as ` k=v k=v`, secrets removed: what a line shows after its event. */
function fieldsText(fields: Fields | undefined): string {
  let text = "";
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    text += ` ${name(key)}=${isSecretKey(key) ? "***" : quote(hideUserinfo(String(value)))}`;
  }
  return text;
}

/** The part of a line after the time: `<L> <area> <event> k=v ...`, with secrets removed. */
function body(level: Level, area: string, event: string, fields: Fields | undefined) {
  return `${LETTERS[level]} ${name(area)} ${name(event)}${fieldsText(fields)}`;
}

/** One log line without its line ending. */
export function formatLine(time: number, level: Level, area: string, event: string, fields?: Fields): string {
  return `${Math.floor(time)} ${body(level, area, event, fields)}`;
}

/** Reads a line written by formatLine or a suppression summary back; undefined when it is not one. */
export function parseLine(line: string): ParsedLine | undefined {
  let tokens: string[];
  try {
    tokens = tokenize(line.replace(/\r?\n$/, ""));
  } catch {
    return undefined;
  }
  const [time, letter, area, event] = tokens;
  const level = letter?.length === 1 ? LETTERS.indexOf(letter) : -1;
  if (!/^\d+$/.test(time ?? "") || level < 0 || !area || !event) return undefined;
  const parsed: ParsedLine = { time: Number(time), level: level as Level, area, event, fields: {} };
  if (tokens[4] === "...") {
    if (tokens.length !== 8 || !/^\d+$/.test(tokens[5]) || tokens[6] !== "similar" || tokens[7] !== "suppressed") {
      return undefined;
    }
    parsed.suppressed = Number(tokens[5]);
    return parsed;
  }
  for (let i = 4; i < tokens.length; i++) {
    const eq = tokens[i].indexOf("=");
    if (eq <= 0) return undefined;
    parsed.fields[tokens[i].slice(0, eq)] = tokens[i].slice(eq + 1);
  }
  return parsed;
}

/** How many distinct recent lines the rate limit remembers: a failure loop prints a handful of kinds of line. */
const RECENT = 8;

// What the rate limit remembers of each recent line, besides its text: numbers RECENT_FIELDS apart in one array,
// which costs the heap about half of what an object per line does.
/** When the line was printed. */
const PRINTED = 0;
/** When a copy was last seen, printed or not. */
const SEEN = 1;
/** Copies held back since it was printed. */
const HELD = 2;
const RECENT_FIELDS = 3;

/** Seconds of the serial budget a burst may spend at once: a boot, a reconnect, a command's output. */
const BURST = 5;
/** Area and event pairs a held_back summary names; the rest are counted as `other`. */
const HELD_CODES = 8;

/** What the serial budget has held back since the device started. */
export interface SerialCounts {
  /** Lines a second, on average (0: no limit). */
  budget: number;
  printed: number;
  held: number;
}

export class Logger {
  level: Level;
  /** Milliseconds within which an identical line is counted instead of printed. */
  window: number;
  /** Lines printed and lines held back by the budget, since the start. */
  printed = 0;
  held = 0;
  /** The serial budget (see Budget above). */
  private readonly bucket: Bucket;
  /** Lines held back since the last held_back line, by `area.event` (made with the first one held back). */
  private heldCodes: Map<string, number> | undefined;
  private heldSince = 0;
  private heldAt = 0;
  private readonly sink: (line: string) => void;
  private readonly now: () => number;
  // Made with the first line: a client that has nothing to say (the drop-in, at warn, while all is well) keeps the
  // heap they would take.
  /** Each recent line's text after the time; "" for none. */
  private texts: string[] = [];
  /** Each recent line's numbers: PRINTED, SEEN and HELD at index RECENT_FIELDS * line + field. */
  private recent: Float64Array | undefined;

  /** `sink` gets each line without a line ending; `now` gives the uptime in ms. */
  constructor(sink: (line: string) => void, now: () => number, level: Level = INFO, window = 10000, budget = 0) {
    this.sink = sink;
    this.now = now;
    this.level = level;
    this.window = window;
    this.bucket = new Bucket(budget, 1000, BURST);
  }

  /** Lines a second the serial port is given, on average (0: no limit); see Budget above. */
  get budget(): number {
    return this.bucket.rate;
  }

  set budget(rate: number) {
    this.bucket.rate = rate;
  }

  /** `k=v k=v` as a line shows these fields, secrets hidden: for text kept elsewhere (the history). */
  describe(fields: Fields): string {
    return fieldsText(fields).slice(1);
  }

  enabled(level: Level): boolean {
    return level <= this.level;
  }

  log(level: Level, area: string, event: string, fields?: Fields): void {
    if (level > this.level) return;
    const now = this.now();
    const text = body(level, area, event, fields);
    if (this.recent === undefined) {
      this.recent = new Float64Array(RECENT * RECENT_FIELDS);
      this.texts = new Array(RECENT).fill("");
    }
    const r = this.recent;
    let line = this.texts.indexOf(text);
    let at = line * RECENT_FIELDS;
    if (line >= 0 && now - r[at + PRINTED] < this.window) {
      r[at + HELD]++;
      r[at + SEEN] = now;
      return;
    }
    if (line < 0) {
      // A new line takes the place of the one seen longest ago: a line that keeps coming back stays remembered.
      line = 0;
      for (let i = 1; i < RECENT; i++) if (r[i * RECENT_FIELDS + SEEN] < r[line * RECENT_FIELDS + SEEN]) line = i;
      at = line * RECENT_FIELDS;
    }
    this.flush(line, now);
    if (!this.spend(now, area, event)) return;
    this.texts[line] = text;
    r[at + PRINTED] = r[at + SEEN] = now;
    this.sink(`${Math.floor(now)} ${text}`);
  }

  /**
   * Prints a line now, never held back, merged or counted by the rate limit of identical lines (see above), only by
   * the serial budget; secrets still hidden.
   */
  record(level: Level, area: string, event: string, fields?: Fields): void {
    if (level > this.level) return;
    const now = this.now();
    if (this.spend(now, area, event)) this.sink(`${Math.floor(now)} ${body(level, area, event, fields)}`);
  }

  /** The serial budget's figures, for `stats`. */
  serial(): SerialCounts {
    return { budget: this.budget, printed: this.printed, held: this.held };
  }

  /** Takes one line from the serial budget; false (the line counted as held back) when there is none left. */
  private spend(now: number, area: string, event: string): boolean {
    if (!this.bucket.take(now)) {
      this.hold(now, `${name(area)}.${name(event)}`);
      return false;
    }
    this.printed++;
    return true;
  }

  private hold(now: number, code: string): void {
    this.held++;
    let codes = this.heldCodes;
    if (codes === undefined) codes = this.heldCodes = new Map();
    if (codes.size === 0) this.heldSince = now;
    if (!codes.has(code) && codes.size >= HELD_CODES) code = "other";
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }

  /** The held_back line, once a window has passed since the last one; it is not charged to the budget. */
  private heldBack(now: number): void {
    const codes = this.heldCodes;
    if (codes === undefined || codes.size === 0 || now - this.heldAt < this.window) return;
    let lines = 0;
    let text = "";
    for (const [code, count] of codes) {
      lines += count;
      text += `${text ? "," : ""}${code}:${count}`;
    }
    codes.clear();
    this.heldAt = now;
    this.printed++;
    const fields = { lines, codes: text, ms: Math.floor(now - this.heldSince), budget: this.budget };
    this.sink(`${Math.floor(now)} ${body(INFO, "log", "held_back", fields)}`);
  }

  error(area: string, event: string, fields?: Fields): void {
    this.log(ERROR, area, event, fields);
  }
  warn(area: string, event: string, fields?: Fields): void {
    this.log(WARN, area, event, fields);
  }
  info(area: string, event: string, fields?: Fields): void {
    this.log(INFO, area, event, fields);
  }
  debug(area: string, event: string, fields?: Fields): void {
    this.log(DEBUG, area, event, fields);
  }
  trace(area: string, event: string, fields?: Fields): void {
    this.log(TRACE, area, event, fields);
  }

  /**
   * Call now and then (the firmware's periodic work): reports held-back lines once their window has passed; `all`
   * reports them all now (the device is about to stop: copies held back then would never be told).
   */
  tick(now: number, all = false): void {
    this.heldBack(now);
    const r = this.recent;
    if (r === undefined) return;
    for (let line = 0; line < RECENT; line++) {
      const at = line * RECENT_FIELDS;
      if (r[at + HELD] > 0 && (all || now - r[at + PRINTED] >= this.window)) {
        this.flush(line, now);
        // The summary closes the window: the next copy prints.
        this.texts[line] = "";
      }
    }
  }

  /** Prints the summary of the copies of recent line `line` held back, if any. */
  private flush(line: number, now: number): void {
    const r = this.recent!;
    const at = line * RECENT_FIELDS + HELD;
    if (r[at] === 0) return;
    // The summary repeats the level, area and event of the held-back line: its first three words after the time.
    const head = this.texts[line].split(" ", 3).join(" ");
    // Not charged to the budget: a summary stands for a line that was, and each printed line has one at most.
    this.printed++;
    this.sink(`${Math.floor(now)} ${head} ... ${r[at]} similar suppressed`);
    r[at] = 0;
  }
}
