// The serial console: one text syntax for typed commands and for log values, so a value copied from a log line
// can be pasted back as an argument. Commands live in a table the app fills; this module parses, checks argument
// counts and turns every mistake or failure into a single `error: ...` line, never an exception.
//
// The syntax (tokenize, quote) is tether/diag/syntax's, which the log uses without the console.

import { quote, tokenize } from "tether/diag/syntax";
import type { QoS } from "tether/mqtt/packets";

export { quote, tokenize };

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
