// The serial console: one text syntax for typed commands and for log values, so a value copied from a log line
// can be pasted back as an argument. Commands live in a table the app fills; this module parses, checks argument
// counts and turns every mistake or failure into a single `error: ...` line, never an exception.
//
// Syntax: arguments are separated by spaces or tabs. Double quotes group text with spaces, and may sit inside a
// word (`a"b c"` is `ab c`). A backslash escapes the next character anywhere: `\n` `\r` `\t` are line feed,
// carriage return and tab, `\xHH` and `\uHHHH` are the character with that hex code, any other `\c` is `c`.

import type { QoS } from "tether/mqtt/packets";

/** Where a command's output goes: one call per line, without a line ending. */
export type Out = (line: string) => void;

/** A console command; `C` is what its run gets to act on (the device), so that a table of them can be a constant. */
export interface Command<C = void> {
  name: string;
  /** The arguments part of the usage line, e.g. `<topic> <payload> [qos]`; empty when it takes none. */
  usage: string;
  /** One line saying what it does, for `help`. */
  help: string;
  min: number;
  max: number;
  /** Throws UsageError for a bad argument (reported with the usage line); any other throw is reported as a failure. */
  run(args: string[], out: Out, context: C): void;
  /** What `help <name>` says after the usage line: what the usage alone cannot (a command's keys, when it applies). */
  more?(out: Out): void;
}

/** A bad argument: the dispatcher prints its message followed by the command's usage. */
export class UsageError extends Error {}

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({ n: "\n", r: "\r", t: "\t" });

/**
 * Splits a line into arguments (see the syntax above). Throws SyntaxError on an open quote or a bad escape.
 *
 * Linear in the line's length in XS too, where indexing a string (`line[i]`) scans it from the start and adding a
 * character to a string copies it: the line is walked with its iterator and each argument's characters are
 * joined once.
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  const chars: string[] = [];
  let inToken = false;
  let quoted = false;
  let escaped = false;
  /** Inside `\xHH` or `\uHHHH`: its letter, the digits read so far and how many are still to come. */
  let hexKind = "";
  let hex = "";
  let hexLeft = 0;
  for (const c of line) {
    if (hexLeft) {
      hex += c;
      if (--hexLeft === 0) chars.push(hexChar(hexKind, hex));
    } else if (escaped) {
      escaped = false;
      if (c === "x" || c === "u") {
        hexKind = c;
        hex = "";
        hexLeft = c === "x" ? 2 : 4;
      } else chars.push(ESCAPES[c] ?? c);
    } else if (c === "\\") {
      escaped = true;
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === " " || c === "\t")) {
      if (inToken) tokens.push(chars.join(""));
      chars.length = 0;
      inToken = false;
    } else {
      chars.push(c);
      inToken = true;
    }
  }
  if (escaped) throw new SyntaxError("backslash at end of line");
  if (hexLeft) throw new SyntaxError(`bad escape \\${hexKind}${hex}`);
  if (quoted) throw new SyntaxError("unterminated quote");
  if (inToken) tokens.push(chars.join(""));
  return tokens;
}

/** The character of escape `\<kind><digits>`, or a SyntaxError when the digits are not hexadecimal. */
function hexChar(kind: string, digits: string): string {
  if (!/^[0-9a-fA-F]+$/.test(digits)) throw new SyntaxError(`bad escape \\${kind}${digits}`);
  return String.fromCharCode(Number.parseInt(digits, 16));
}

/** Whether the character with code `c` is escaped inside quotes: quote, backslash, controls, line separators. */
function mustEscape(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x22 || c === 0x5c || c === 0x2028 || c === 0x2029;
}

function escapeChar(c: number): string {
  if (c === 0x22 || c === 0x5c) return `\\${String.fromCharCode(c)}`;
  if (c === 0x0a) return "\\n";
  if (c === 0x0d) return "\\r";
  if (c === 0x09) return "\\t";
  return c < 0x100 ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16)}`;
}

/**
 * Writes `value` so that tokenize() reads it back as one argument: as it is when it is plain, otherwise in double
 * quotes with `"`, `\`, control characters and line separators escaped. Plain means not empty, and no white
 * space of any kind, quote, `=`, backslash or control character, which a reader or the tokenizer could misread.
 */
export function quote(value: string): string {
  if (value.length > LONG) return quoteLong(value);
  let plain = value !== "" && !/[\s'=]/.test(value);
  for (let i = 0; plain && i < value.length; i++) plain = !mustEscape(value.charCodeAt(i));
  if (plain) return value;
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!mustEscape(c)) continue;
    out += value.slice(start, i) + escapeChar(c);
    start = i + 1;
  }
  return `${out}${value.slice(start)}"`;
}

/**
 * Values longer than this are quoted by walking them with their iterator: XS finds `value.charCodeAt(i)` by
 * scanning from the start, so the indexed loop of quote() would take time quadratic in the length (a 64 KB topic in
 * a log line: seconds). Shorter ones keep that loop, which allocates nothing for a plain value.
 */
const LONG = 64;

function quoteLong(value: string): string {
  let plain = !/[\s'=]/.test(value);
  const parts: string[] = [];
  for (const ch of value) {
    // The first code unit: the second of a pair is never one to escape.
    const c = ch.charCodeAt(0);
    if (mustEscape(c)) {
      plain = false;
      parts.push(escapeChar(c));
    } else parts.push(ch);
  }
  return plain ? value : `"${parts.join("")}"`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

function usageOf<C>(command: Command<C>): string {
  return command.usage ? `${command.name} ${command.usage}` : command.name;
}

function help<C>(commands: readonly Command<C>[], args: string[], out: Out): void {
  const wanted = args[0];
  for (const command of commands) {
    if (wanted === undefined || command.name === wanted) out(`${usageOf(command)} - ${command.help}`);
    if (command.name === wanted) command.more?.(out);
  }
  if (wanted === undefined) out("help [command] - list the commands, or show one");
  else if (!commands.some((command) => command.name === wanted)) out(`error: no command ${quote(wanted)}`);
}

/**
 * Parses and runs one console line against `commands`, on `context`; `help` is built in. Output and errors go to
 * `out`; an empty line does nothing. Never throws.
 */
export function execute<C>(commands: readonly Command<C>[], line: string, out: Out, context: C): void {
  let args: string[];
  try {
    args = tokenize(line);
  } catch (error) {
    out(`error: ${(error as Error).message}`);
    return;
  }
  const name = args.shift();
  if (name === undefined) return;
  if (name === "help") {
    help(commands, args, out);
    return;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    out(`error: unknown command ${quote(name)}; type help for the list`);
    return;
  }
  if (args.length < command.min || args.length > command.max) {
    const range = command.min === command.max ? `${command.min}` : `${command.min} to ${command.max}`;
    out(`error: ${name} takes ${range} argument${range === "1" ? "" : "s"}; usage: ${usageOf(command)}`);
    return;
  }
  try {
    command.run(args, out, context);
  } catch (error) {
    const message = oneLine(error instanceof Error ? error.message : String(error));
    out(error instanceof UsageError ? `error: ${message}; usage: ${usageOf(command)}` : `error: ${name}: ${message}`);
  }
}

/** A decimal integer in [min, max]. */
export function intArg(value: string, name: string, min: number, max: number): number {
  const n = /^-?\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, not ${quote(value)}`);
  return n;
}

/** One of `allowed`. */
export function enumArg<T extends string>(value: string, name: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${name} must be one of ${allowed.join("|")}, not ${quote(value)}`);
  }
  return value as T;
}

export function qosArg(value: string): QoS {
  return intArg(value, "qos", 0, 2) as QoS;
}

/**
 * A value checked by `check`, which returns why it is wrong or undefined when it is fine: topic names and filters
 * are checked this way with the MQTT layer's validators.
 */
export function checkedArg(value: string, name: string, check: (value: string) => string | undefined): string {
  const problem = check(value);
  if (problem !== undefined) throw new UsageError(`bad ${name} ${quote(value)}: ${problem}`);
  return value;
}
