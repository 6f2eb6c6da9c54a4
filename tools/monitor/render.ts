// How the monitor shows one serial line: coloured by level (errors red, warnings yellow, debug and trace dim,
// console output cyan), and a `diag <code>` failure line followed by the code's likely causes and fixes, from the
// same table that generates docs/troubleshooting.md.

import { type Code, FAILURES } from "tether/diag/codes";
import { parseLine } from "tether/diag/log";
import { PROSE } from "../../scripts/troubleshooting-causes";

const RESET = "\x1b[0m";
/** By level: E W I D T. */
const LEVEL_COLOURS = ["\x1b[1;31m", "\x1b[33m", "", "\x1b[2m", "\x1b[2;36m"];
const CONSOLE = "\x1b[36m";
const EXPANSION = "\x1b[35m";
const KNOWN = new Set<string>(FAILURES.map((f) => f.code));
/** Causes shown under a failure line: the most likely ones; docs/troubleshooting.md has them all. */
const CAUSES_SHOWN = 2;

/** The lines to show for one serial line (without its line ending); `colour` adds ANSI colours. */
export function render(line: string, colour: boolean): string[] {
  const paint = (code: string, text: string) => (colour && code ? `${code}${text}${RESET}` : text);
  const parsed = parseLine(line);
  if (!parsed) return [paint(line.startsWith("| ") ? CONSOLE : "", line)];
  const out = [paint(LEVEL_COLOURS[parsed.level]!, line)];
  if (parsed.area === "diag" && parsed.suppressed === undefined && KNOWN.has(parsed.event)) {
    const prose = PROSE[parsed.event as Code];
    out.push(paint(EXPANSION, `    ${parsed.event}: ${prose.summary}`));
    for (const { cause, fix } of prose.causes.slice(0, CAUSES_SHOWN)) {
      out.push(paint(EXPANSION, `      cause: ${cause} fix: ${fix}`));
    }
  }
  return out;
}
