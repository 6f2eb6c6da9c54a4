// Log lines for people and scripts alike, one format everywhere:
//
//   <uptime ms> <level letter> <area> <event> key=value key=value ...
//
// e.g. `81234 W diag tcp_refused broker=mqtt://10.0.0.5:1883 hint="..."`. Level letters are E W I D T.
// Area, event and keys are names: letters, digits and `_ . : / -` (anything else becomes `_`). Values use the
// console's syntax (quote() in console.ts): plain when they can be, else double-quoted with escapes, so the
// console's tokenizer reads a line back exactly (parseLine).
//
// Rate limit: a line identical to the previous one printed (same level, area, event and fields) within `window`
// ms of it is not printed but counted. The count is reported as `<uptime> <L> <area> <event> ... <N> similar
// suppressed` when a different line is logged, when an identical one comes after the window (it is then printed
// and opens a new window), or on tick() once the window has passed. So a steady stream of one message prints
// one line and one summary per window, and nothing is ever lost silently.
//
// Secrets: values of keys that name a secret (password, token, key, auth, ...) print as `***`, and any value
// registered with addSecret() is replaced by `***` wherever it appears inside any value.

import { quote, tokenize } from "tether/diag/console";

export const ERROR = 0;
export const WARN = 1;
export const INFO = 2;
export const DEBUG = 3;
export const TRACE = 4;
export type Level = 0 | 1 | 2 | 3 | 4;

export const LEVEL_NAMES = ["error", "warn", "info", "debug", "trace"] as const;
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

function redact(value: string, secrets: readonly string[]): string {
  for (const secret of secrets) if (value.includes(secret)) value = value.split(secret).join("***");
  return value;
}

/** The part of a line after the time: `<L> <area> <event> k=v ...`, with secrets removed. */
function body(level: Level, area: string, event: string, fields: Fields | undefined, secrets: readonly string[]) {
  let text = `${LETTERS[level]} ${name(area)} ${name(event)}`;
  if (fields) {
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined) continue;
      text += ` ${name(key)}=${isSecretKey(key) ? "***" : quote(redact(String(value), secrets))}`;
    }
  }
  return text;
}

/** One log line without its line ending. `secrets` are values to hide, longest first. */
export function formatLine(
  time: number,
  level: Level,
  area: string,
  event: string,
  fields?: Fields,
  secrets: readonly string[] = [],
): string {
  return `${Math.floor(time)} ${body(level, area, event, fields, secrets)}`;
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

export class Logger {
  level: Level;
  /** Milliseconds within which an identical line is counted instead of printed. */
  window: number;
  private readonly sink: (line: string) => void;
  private readonly now: () => number;
  private readonly secrets: string[] = [];
  /** Body of the last line printed, the time it was printed and how many copies were held back since. */
  private last = "";
  private lastTime = 0;
  private suppressed = 0;

  /** `sink` gets each line without a line ending; `now` gives the uptime in ms. */
  constructor(sink: (line: string) => void, now: () => number, level: Level = INFO, window = 10000) {
    this.sink = sink;
    this.now = now;
    this.level = level;
    this.window = window;
  }

  /** Hides `value` wherever it appears in a logged value from now on (a password, a token). Empty values are ignored. */
  addSecret(value: string): void {
    if (value === "" || this.secrets.includes(value)) return;
    this.secrets.push(value);
    // Longest first, so a secret that contains another is hidden whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  enabled(level: Level): boolean {
    return level <= this.level;
  }

  log(level: Level, area: string, event: string, fields?: Fields): void {
    if (level > this.level) return;
    const now = this.now();
    const text = body(level, area, event, fields, this.secrets);
    if (text === this.last && now - this.lastTime < this.window) {
      this.suppressed++;
      return;
    }
    this.flush(now);
    this.last = text;
    this.lastTime = now;
    this.sink(`${Math.floor(now)} ${text}`);
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

  /** Call now and then (e.g. from the firmware's periodic work): reports held-back lines once their window has passed. */
  tick(now: number): void {
    if (this.suppressed > 0 && now - this.lastTime >= this.window) {
      this.flush(now);
      this.last = "";
    }
  }

  /** Prints the summary of held-back lines, if any. */
  private flush(now: number): void {
    if (this.suppressed === 0) return;
    // The summary repeats the level, area and event of the held-back line: its first three words after the time.
    const head = this.last.split(" ", 3).join(" ");
    this.sink(`${Math.floor(now)} ${head} ... ${this.suppressed} similar suppressed`);
    this.suppressed = 0;
  }
}
