// The end of a lab run, in words: what was done, what the device named, and the serial lines (numbered as in the
// device's output) that said so.

import { parseLine } from "tether/diag/log";
import { diagnosis, misnamed, type Outcome, unnamed } from "./run";

/** Failure lines of `output` with their 1-based line numbers: `diag <code>` lines, not suppression summaries. */
export function failureLines(output: string): { number: number; code: string; text: string }[] {
  const found: { number: number; code: string; text: string }[] = [];
  output.split("\n").forEach((text, index) => {
    const line = parseLine(text);
    if (line?.area === "diag" && line.suppressed === undefined)
      found.push({ number: index + 1, code: line.event, text });
  });
  return found;
}

export function summarize(outcome: Outcome): string[] {
  const { scenario, error, notes } = outcome;
  const out = [`== ${scenario.name}: ${scenario.title}`, `What was done: ${scenario.story}.`];
  for (const note of notes) out.push(`  ${(note.at / 1000).toFixed(1).padStart(6)} s  ${note.text}`);
  const missing = unnamed(outcome);
  const wrong = misnamed(outcome);
  const named = outcome.codes.length ? outcome.codes.join(", ") : "nothing";
  const found = diagnosis(scenario.expect, outcome.codes).join(" and ");
  if (error && outcome.output.size === 0) out.push(`Not run: ${error}.`);
  else if (missing.length === 0 && wrong.length === 0) out.push(`Diagnosis: ${found}, as expected.`);
  else if (missing.length === 0)
    out.push(`Diagnosis: ${found}, but also ${wrong.join(" and ")}, which does not fit this failure.`);
  else
    out.push(`Diagnosis: expected ${missing.join(" and ")}, the device named ${named}${error ? ` (${error})` : ""}.`);
  for (const [name, output] of outcome.output) {
    const lines = failureLines(output);
    if (lines.length === 0) continue;
    out.push(`What ${name}'s serial output said (the first line of each code):`);
    // The first line of each code: repeats add nothing.
    const first = lines.filter((line, i) => lines.findIndex((other) => other.code === line.code) === i);
    for (const line of first) out.push(`  line ${line.number}: ${line.text}`);
  }
  return out;
}
