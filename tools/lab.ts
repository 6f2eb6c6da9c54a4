// `npm run lab`: lists the scenarios; `npm run lab -- <scenario>` runs one. The devices' serial output is this
// terminal's output (a second device's lines are prefixed with its name), lines typed here go to the first device's
// console, and the lab's own messages go to stderr, prefixed `lab:`. Once the device has named the failure, the
// bench stays up until the end of input (Ctrl-D) or Ctrl-C, then the summary says what happened.

import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { misnamed, runScenario, unnamed } from "./lab/run";
import { findScenario, missing, SCENARIOS } from "./lab/scenarios";
import { summarize } from "./lab/summary";

const USAGE = `usage: npm run lab [-- <scenario> [--log FILE]]
Without a scenario: the list. With one: builds the failure for real around the firmware in the simulator; type
console commands (status, history, stats, ...) while it runs; Ctrl-D or Ctrl-C ends it and prints the summary.
  --log FILE   save the device's serial output (for npm run report)
`;

const note = (text: string) => process.stderr.write(`lab: ${text}\n`);

function list(): void {
  process.stdout.write("scenarios (npm run lab -- <name>):\n");
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const scenario of SCENARIOS) {
    const lacking = missing(scenario);
    process.stdout.write(`  ${scenario.name.padEnd(width)}  ${scenario.title}${lacking ? ` [${lacking}]` : ""}\n`);
  }
}

/** Prefixes each complete line of a stream of text; keeps a partial line for the next call. */
function prefixer(prefix: string): (text: string) => string {
  let partial = "";
  return (text) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    return lines.map((line) => `${prefix}${line}\n`).join("");
  };
}

async function main(argv: string[]): Promise<number> {
  let name: string | undefined;
  let log: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--help" || argv[i] === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (argv[i] === "--log") {
      log = argv[++i];
      if (!log) throw new UsageError("--log needs a file name");
    } else if (argv[i]!.startsWith("-")) throw new UsageError(`unknown option ${argv[i]}`);
    else if (name) throw new UsageError(`one scenario at a time: ${argv[i]}`);
    else name = argv[i];
  }
  if (!name) {
    list();
    return 0;
  }
  const scenario = findScenario(name);
  if (!scenario) throw new UsageError(`no scenario "${name}" (npm run lab lists them)`);

  let first: string | undefined;
  const prefixers = new Map<string, (text: string) => string>();
  let typeLine: ((line: string) => void) | undefined;
  const input = createInterface({ input: process.stdin });
  // Ctrl-C ends the run (before the diagnosis too) and cleans up; a second one leaves at once.
  let interrupts = 0;
  const interrupted = new Promise<void>((resolve) =>
    process.on("SIGINT", () => {
      if (++interrupts > 1) process.exit(130);
      resolve();
    }),
  );
  const ended = Promise.race([new Promise<void>((resolve) => input.on("close", resolve)), interrupted]);
  input.on("line", (line) => (typeLine ? typeLine(line) : note("no device yet: line not sent")));
  const outcome = await runScenario(scenario, {
    serial(device, text) {
      first ??= device;
      if (device === first) process.stdout.write(text);
      else {
        if (!prefixers.has(device)) prefixers.set(device, prefixer(`[${device}] `));
        process.stdout.write(prefixers.get(device)!(text));
      }
    },
    note: (n) => note(n.text),
    stopped: interrupted,
    booted(_, device) {
      typeLine ??= (line) => device.device.typeLine(line);
    },
    linger() {
      if (process.stdin.isTTY) note("diagnosis in; type console commands (help, status, history), Ctrl-D to finish");
      return ended;
    },
  });
  input.close();
  if (log && first) {
    writeFileSync(log, outcome.output.get(first)!);
    note(`serial output saved to ${log}`);
  }
  process.stderr.write(`\n${summarize(outcome).join("\n")}\n`);
  return outcome.error || unnamed(outcome).length > 0 || misnamed(outcome).length > 0 ? 1 : 0;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `lab: ${error instanceof Error ? error.message : error}${error instanceof UsageError ? " (see --help)" : ""}\n`,
    );
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
