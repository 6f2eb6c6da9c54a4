// `npm run monitor -- <serial port> [options]`: a Tether device's serial console, coloured by level, each failure line
// followed by its likely causes and fixes, ESP-IDF's reset and panic lines recognised; lines typed here go to the
// device. A port that goes away is reopened when it comes back. Also `--file LOG` (a saved log) and
// `--sim [-- npm start options]` (a simulated device), to use it without hardware.

import { appendFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { type Filter, LEVEL_CHOICES, parseLevel, shown } from "./monitor/filter";
import { render } from "./monitor/render";
import { Lines, openFile, openPort, type Source, startSimulator } from "./monitor/sources";
import { writePcap } from "./report/pcap";

const USAGE = `usage: npm run monitor -- <serial port> [options]     (e.g. /dev/ttyUSB0)
       npm run monitor -- --file LOG [options]         (LOG "-": standard input)
       npm run monitor -- [options] --sim [-- npm start options]
Shows a Tether device's serial output coloured by level; each "diag <code>" line is followed by the code's likely
causes and fixes; ESP-IDF's reset lines and panics (Guru Meditation, abort, backtrace) are highlighted. Lines typed
here go to the device's console (not with --file). A serial port that goes away is reopened when it comes back;
lines typed meanwhile are sent then. Ctrl-C or Ctrl-D ends the session.
  --baud N          serial speed (default 115200)
  --reset           reset the board through DTR/RTS once the port is open (its boot is not missed);
                    typing ~reset does it again at any time
  --timestamps, -t  each line shown with this computer's time (HH:MM:SS.mmm)
  --level L         show log lines at level L or more severe: ${LEVEL_CHOICES}
  --area A,B        show log lines of these areas only (mqtt, diag, keepalive, app, ...)
  --elf FILE        the firmware's ELF: a backtrace is followed by the command that decodes it
  --addr2line PROG  the toolchain's addr2line (default xtensa-esp32-elf-addr2line; riscv32-esp-elf-addr2line
                    for RISC-V chips)
  --save FILE       write every line the device sent, unfiltered and uncoloured, for npm run report
  --pcap FILE       at the end, the packet trace (typed "trace on") as a capture Wireshark decodes as MQTT
  --color, --no-color
`;

class UsageError extends Error {}

interface Options {
  port?: string;
  file?: string;
  sim?: string[];
  baud: number;
  save?: string;
  pcap?: string;
  colour: boolean;
  timestamps: boolean;
  reset: boolean;
  filter: Filter;
  elf?: string;
  addr2line?: string;
}

function parse(argv: string[]): Options | undefined {
  const options: Options = {
    baud: 115200,
    colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    timestamps: false,
    reset: false,
    filter: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--help" || arg === "-h") return undefined;
    else if (arg === "--baud") {
      options.baud = Number(value());
      if (!Number.isInteger(options.baud) || options.baud <= 0) throw new UsageError(`bad baud rate: ${argv[i]}`);
    } else if (arg === "--save") options.save = value();
    else if (arg === "--pcap") options.pcap = value();
    else if (arg === "--file") options.file = value();
    else if (arg === "--color") options.colour = true;
    else if (arg === "--no-color") options.colour = false;
    else if (arg === "--timestamps" || arg === "-t") options.timestamps = true;
    else if (arg === "--reset") options.reset = true;
    else if (arg === "--elf") options.elf = value();
    else if (arg === "--addr2line") options.addr2line = value();
    else if (arg === "--level") {
      options.filter.level = parseLevel(value());
      if (options.filter.level === undefined) throw new UsageError(`--level: ${argv[i]} is not ${LEVEL_CHOICES}`);
    } else if (arg === "--area") options.filter.areas = new Set(value().split(",").filter(Boolean));
    else if (arg === "--sim") {
      // Everything after `--sim --` goes to npm start.
      const rest = argv.slice(i + 1);
      options.sim = rest[0] === "--" ? rest.slice(1) : rest;
      break;
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else if (options.port) throw new UsageError(`one serial port at a time: ${arg}`);
    else options.port = arg;
  }
  if ([options.port, options.file, options.sim].filter((s) => s !== undefined).length !== 1) {
    throw new UsageError("give one serial port, --file LOG or --sim");
  }
  if (options.reset && !options.port) throw new UsageError("--reset needs a serial port");
  return options;
}

const note = (text: string) => process.stderr.write(`monitor: ${text}\n`);

async function open(options: Options): Promise<Source> {
  if (options.file) return openFile(options.file);
  if (options.sim) return startSimulator(options.sim);
  return openPort(options.port!, options.baud, note);
}

/** This computer's time of day, to the millisecond: HH:MM:SS.mmm. */
function clock(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}.${String(now.getMilliseconds()).padStart(3, "0")}`;
}

async function resetBoard(source: Source): Promise<void> {
  try {
    await source.reset!();
    note("board reset (DTR/RTS)");
  } catch (error) {
    note(`reset failed: ${(error as Error).message} (this port has no DTR/RTS lines?)`);
  }
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const source = await open(options);
  if (options.save) writeFileSync(options.save, "");
  note(`${source.name}${options.save ? `, saving to ${options.save}` : ""}`);
  // Every line, for --pcap; bounded by the session, as --save is.
  const all: string[] = [];
  const show = (line: string) => {
    if (options.save) appendFileSync(options.save, `${line}\n`);
    if (options.pcap) all.push(line);
    if (!shown(line, options.filter)) return;
    const stamp = options.timestamps ? `${clock()} ` : "";
    const rendered = render(line, { colour: options.colour, elf: options.elf, addr2line: options.addr2line });
    process.stdout.write(`${rendered.map((text) => stamp + text).join("\n")}\n`);
  };
  const lines = new Lines();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    void source.close();
  };
  // Ctrl-C ends the session at the first press, whatever the port is doing.
  process.on("SIGINT", finish);
  process.on("SIGTERM", finish);
  const typed = source.write ? createInterface({ input: process.stdin }) : undefined;
  typed?.on("line", (line) => {
    if (line.trim() === "~reset" && source.reset) void resetBoard(source);
    else source.write!(line + source.eol);
  });
  typed?.on("close", finish);
  if (options.reset) await resetBoard(source);
  await source.run((text) => {
    for (const line of lines.feed(text)) show(line);
  });
  for (const line of lines.flush()) show(line);
  typed?.close();
  await source.close();
  if (options.pcap) {
    const packets = writePcap(options.pcap, all.join("\n"));
    note(`${options.pcap}: ${packets} packet(s) from the trace${packets ? "" : ' (type "trace on" to record them)'}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`monitor: ${error instanceof Error ? error.message : error}${usage ? " (see --help)" : ""}\n`);
    process.exit(usage ? 2 : 1);
  },
);
