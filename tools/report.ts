// `npm run report -- <log file> [-o report.html] [--broker-log mosquitto.log] [--pcap FILE]`: one self-contained HTML
// page from a saved serial log (from `npm run monitor -- ... --save`, `npm run lab -- ... --log`, or any terminal
// program's capture), with the broker's log on the same timeline when given, and the packet trace as a capture.

import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { PROSE } from "../scripts/troubleshooting-causes";
import { mergeBrokerLog, readBrokerLog } from "./report/broker-log";
import { type ReportExtras, renderReport } from "./report/html";
import { writePcap } from "./report/pcap";
import { readSession } from "./report/session";
import { verdict } from "./report/verdict";

const USAGE = `usage: npm run report -- <log file> [-o report.html] [--broker-log FILE] [--pcap FILE]
Reads a saved serial log of a Tether device and writes one HTML page (default: <log file>.html) with a timeline of
connections, failures and boots, reconnect delays, round trips, keep alive, traffic and heap, failures by code with
their causes and fixes, the events in order, and a verdict. The page needs no network to be viewed.
  --broker-log FILE  mosquitto's log of the same time: its lines about the device on the same timeline (clocks
                     aligned by the connections both saw), and what it says in the verdict
  --pcap FILE        the packet trace in the log ("trace on") as a capture Wireshark decodes as MQTT over TCP
`;

function main(argv: string[]): number {
  let input: string | undefined;
  let output: string | undefined;
  let brokerLog: string | undefined;
  let pcap: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (arg === "-o" || arg === "--output" || arg === "--broker-log" || arg === "--pcap") {
      const value = argv[++i];
      if (!value) return usage(`${arg} needs a file name`);
      if (arg === "--broker-log") brokerLog = value;
      else if (arg === "--pcap") pcap = value;
      else output = value;
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
  const extras: ReportExtras = {};
  if (brokerLog) {
    let brokerText: string;
    try {
      brokerText = readFileSync(brokerLog, "utf8");
    } catch (error) {
      process.stderr.write(`report: cannot read ${brokerLog}: ${(error as NodeJS.ErrnoException).code ?? error}\n`);
      return 1;
    }
    const merged = mergeBrokerLog(session, text, readBrokerLog(brokerText));
    if (typeof merged === "string") process.stderr.write(`report: ${brokerLog} left out: ${merged}\n`);
    else {
      extras.broker = { source: basename(brokerLog), marks: merged.marks, alignment: merged.alignment };
      result.broker = merged.verdict;
      // The broker saw a cause the device could not tell (a takeover looks like any close from the device's side).
      if (merged.code && merged.code !== result.code) {
        const [cause] = PROSE[merged.code].causes;
        if (cause) result.advice = `${cause.cause} ${cause.fix} (the broker's log points at ${merged.code})`;
      }
      process.stderr.write(
        `report: ${brokerLog}: ${merged.marks.length} lines about the device, ${merged.alignment}\n`,
      );
    }
  }
  output ??= `${input}.html`;
  writeFileSync(output, renderReport(session, result, basename(input), extras));
  process.stderr.write(`report: ${output}: ${result.headline}\n`);
  if (pcap) {
    const packets = writePcap(pcap, text);
    process.stderr.write(
      `report: ${pcap}: ${packets} MQTT packet(s) from the trace${packets ? "" : ' (none: type "trace on" on the device to record them)'}\n`,
    );
  }
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`report: ${problem} (see --help)\n`);
  return 2;
}

process.exit(main(process.argv.slice(2)));
