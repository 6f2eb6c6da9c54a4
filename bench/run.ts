// `npm run bench`: codec, meter, end to end, footprint and recovery, in one run on this machine; prints the table
// and writes bench/results.json, docs/benchmarks.svg and docs/benchmarks.md. `npm run bench -- codec e2e` runs only
// the sections named (codec, meter, e2e, footprint, recovery, mcsim) and writes nothing; with `--update` too, their
// rows replace those sections' rows in bench/results.json and the reports are written again (the header says so).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { SimDevice } from "../hosts/sim/node/device";
import { MOSQUITTO, startMosquitto } from "../test/helpers/mosquitto";
import { SDK, sdkBuilt } from "../tools/rigs/moddable";
import { codecBench } from "./codec";
import { e2eBench } from "./e2e";
import { mcsimBench } from "./mcsim";
import { heapRows, moduleSizes, sizeRows } from "./memory";
import { meterBench } from "./meter";
import { recoveryBench } from "./recovery";
import { consoleTable, writeReports } from "./report";
import type { Row } from "./stats";

const REPS = 5;
const SECTIONS = ["codec", "meter", "e2e", "footprint", "recovery", "mcsim"];

const USAGE = `usage: npm run bench [-- section ...]
Measures Tether on this machine. Without sections: all of them, then writes bench/results.json, docs/benchmarks.svg
and docs/benchmarks.md. With sections: only those, and nothing is written; with --update, their rows replace
those in bench/results.json and the docs are written again.
Sections: ${SECTIONS.join(", ")}
(e2e, footprint and mcsim need mosquitto; mcsim a built Moddable SDK.)
`;

/** A mistake on the command line: one line on stderr, exit code 2, no stack trace. */
class UsageError extends Error {}

/** The command line's name of a row's section ("End to end (...)" is e2e). */
function sectionOf(row: Row): string {
  const name = row.section.toLowerCase();
  return name.startsWith("end to end") ? "e2e" : (SECTIONS.find((section) => name.startsWith(section)) ?? name);
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  const update = args.includes("--update");
  const asked = args.filter((arg) => arg !== "--update");
  if (update && !asked.length) throw new UsageError("--update goes with the sections to run again");
  const unknown = asked.filter((s) => !SECTIONS.includes(s));
  if (unknown.length) {
    const what = unknown[0]!.startsWith("-") ? "option" : "section";
    throw new UsageError(`unknown ${what} ${unknown[0]}; sections: ${SECTIONS.join(", ")} (see --help)`);
  }
  const wanted = (section: string) => asked.length === 0 || asked.includes(section);
  const started = performance.now();
  const rows: Row[] = [];

  if (wanted("codec")) {
    log("codec");
    rows.push(...(await codecBench({ reps: REPS, ms: 100, log })));
  }
  if (wanted("meter")) {
    log("meter (xsnap computrons)");
    rows.push(...(await meterBench(log)));
  }
  if (wanted("e2e") || wanted("footprint") || wanted("mcsim")) {
    // Subscriptions are logged so that the mosquitto_sub run can wait for its own; no limit on queued messages;
    // no Nagle on the broker's sockets: a subscriber that never writes back (QoS 0) delays its ACKs, and Nagle then
    // holds the next small delivery for them (40 ms stalls), which would time the kernel, not the clients.
    const broker = await startMosquitto({
      config: [
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "log_type subscribe",
        "max_queued_messages 0",
        "set_tcp_nodelay true",
      ],
    });
    try {
      if (wanted("e2e")) {
        log("end to end");
        const device = await SimDevice.start({ entry: "bench/xs/client.ts", config: {} });
        try {
          rows.push(...(await e2eBench({ reps: REPS, broker, device, xsScale: 4, log })));
        } finally {
          await device.kill();
        }
      }
      if (wanted("mcsim")) {
        // Moddable's simulator, beside Moddable's own module: only where an SDK is built ($MODDABLE or ~/moddable).
        if (sdkBuilt()) {
          log("mcsim (Moddable's simulator)");
          rows.push(...(await mcsimBench(broker, REPS, log)));
        } else
          log(`mcsim: skipped, no Moddable SDK built at ${SDK} (the SDK's Getting Started guide for Linux builds one)`);
      }
      if (wanted("footprint")) {
        log("footprint");
        rows.push(...sizeRows(moduleSizes()));
        rows.push(...(await heapRows(broker, REPS, log)));
      }
    } finally {
      await broker.stop();
    }
  }
  if (wanted("recovery")) {
    log("recovery");
    rows.push(...(await recoveryBench(REPS, log)));
  }

  log("");
  log(consoleTable(rows));
  log(`\n${Math.round((performance.now() - started) / 1000)} s`);
  if (asked.length && !update) return;
  const mosquitto = spawnSync(MOSQUITTO ?? "mosquitto", ["-h"], { encoding: "utf8" })
    .stdout.split("\n")[0]
    .trim();
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown CPU",
    cores: cpus().length,
    node: process.version,
    mosquitto,
    date: new Date().toISOString().slice(0, 10),
  };
  if (update) {
    // The other sections' rows stay as the last full run (or update) left them, and its header with them.
    const previous = JSON.parse(readFileSync("bench/results.json", "utf8")) as {
      machine: typeof machine;
      command: string;
      rows: Row[];
    };
    // In the order of the sections (a stable sort keeps each section's own order).
    const order = (row: Row) => SECTIONS.indexOf(sectionOf(row));
    const merged = [...previous.rows.filter((row) => !asked.includes(sectionOf(row))), ...rows].sort(
      (a, b) => order(a) - order(b),
    );
    const base = previous.command.replace(/ \(.* --update on \d{4}-\d\d-\d\d\)$/, "");
    const command = `${base} (${asked.join(", ")}: npm run bench -- ${asked.join(" ")} --update on ${machine.date})`;
    writeReports(merged, previous.machine, command);
  } else writeReports(rows, machine, "npm run bench");
  log("wrote bench/results.json, docs/benchmarks.svg, docs/benchmarks.md");
}

main().then(
  () => process.exit(0),
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
