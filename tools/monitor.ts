// `npm run monitor -- <serial port> [--baud 115200] [--save FILE]`: a Tether device's serial console, coloured by
// level, each failure line followed by its likely causes and fixes; lines typed here go to the device. Also
// `--file LOG` (a saved log) and `--sim [-- npm start options]` (a simulated device), to use it without hardware.

import { appendFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { render } from "./monitor/render";
import { eachLine, openFile, openPort, type Source, startSimulator } from "./monitor/sources";

const USAGE = `usage: npm run monitor -- <serial port> [--baud 115200] [--save FILE]
       npm run monitor -- --file LOG [--save FILE]      (LOG "-": standard input)
       npm run monitor -- --sim [--save FILE] [-- npm start options]
Shows a Tether device's serial output coloured by level; each "diag <code>" line is followed by the code's likely
causes and fixes. Lines typed here go to the device's console (not with --file). --save writes every line the
device sent, uncoloured, for npm run report. Ctrl-C or Ctrl-D ends the session.
`;

class UsageError extends Error {}

interface Options {
  port?: string;
  file?: string;
  sim?: string[];
  baud: number;
  save?: string;
  colour: boolean;
}

function parse(argv: string[]): Options | undefined {
  const options: Options = { baud: 115200, colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR };
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
    else if (arg === "--file") options.file = value();
    else if (arg === "--color") options.colour = true;
    else if (arg === "--no-color") options.colour = false;
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
  return options;
}

async function open(options: Options): Promise<Source> {
  if (options.file) return openFile(options.file);
  if (options.sim) return startSimulator(options.sim);
  return openPort(options.port!, options.baud);
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const source = await open(options);
  if (options.save) writeFileSync(options.save, "");
  process.stderr.write(`monitor: ${source.name}${options.save ? `, saving to ${options.save}` : ""}\n`);
  const typed = source.input ? createInterface({ input: process.stdin }) : undefined;
  typed?.on("line", (line) => source.input!.write(line + source.eol));
  typed?.on("close", () => void source.close());
  process.once("SIGINT", () => void source.close());
  await eachLine(source.output, (line) => {
    if (options.save) appendFileSync(options.save, `${line}\n`);
    process.stdout.write(`${render(line, options.colour).join("\n")}\n`);
  });
  typed?.close();
  await source.close();
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
