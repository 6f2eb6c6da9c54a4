// `npm run report -- <log file> [-o report.html]`: one self-contained HTML page from a saved serial log (from
// `npm run monitor -- ... --save`, `npm run lab -- ... --log`, or any terminal program's capture).

import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { renderReport } from "./report/html";
import { readSession } from "./report/session";
import { verdict } from "./report/verdict";

const USAGE = `usage: npm run report -- <log file> [-o report.html]
Reads a saved serial log of a Tether device and writes one HTML page (default: <log file>.html) with a timeline of
connections and failures, reconnect delays, round trips, keep alive, traffic and heap, failures by code with their
causes and fixes, and a verdict. The page needs no network to be viewed.
`;

function main(argv: string[]): number {
  let input: string | undefined;
  let output: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (arg === "-o" || arg === "--output") {
      output = argv[++i];
      if (!output) return usage(`${arg} needs a file name`);
    } else if (arg.startsWith("-")) return usage(`unknown option ${arg}`);
    else if (input) return usage(`one log file at a time: ${arg}`);
    else input = arg;
  }
  if (!input) return usage("which log file?");
  let text: string;
  try {
    text = readFileSync(input, "utf8");
  } catch (error) {
    process.stderr.write(`report: cannot read ${input}: ${(error as NodeJS.ErrnoException).code ?? error}\n`);
    return 1;
  }
  const session = readSession(text);
  if (session.logLines === 0) {
    process.stderr.write(`report: ${input} has no Tether log lines (<uptime> <E|W|I|D|T> <area> <event> ...)\n`);
    return 1;
  }
  const result = verdict(session);
  output ??= `${input}.html`;
  writeFileSync(output, renderReport(session, result, basename(input)));
  process.stderr.write(`report: ${output}: ${result.headline}\n`);
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`report: ${problem} (see --help)\n`);
  return 2;
}

process.exit(main(process.argv.slice(2)));
