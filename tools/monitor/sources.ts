// Where the monitor's lines come from, and where typed lines go: a real serial port (the npm serialport package), a
// saved log file (read once), or a simulated device (`npm start` as a child process: its output is the serial port,
// its input the console).

import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { SerialPort } from "serialport";

export interface Source {
  /** Where it reads from, for the first line the monitor prints. */
  name: string;
  /** The raw byte stream of device output. */
  output: Readable;
  /** Where typed lines go; undefined for a file. */
  input?: Writable;
  /** Line ending the device expects after a typed line. */
  eol: string;
  close(): Promise<void>;
}

/** A serial port at `baud` bits per second, 8N1; resolves once it is open. */
export async function openPort(path: string, baud: number): Promise<Source> {
  const port = new SerialPort({ path, baudRate: baud, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  // A board unplugged mid-session: one line, and the session ends as at the end of a file.
  port.on("error", (error) => {
    process.stderr.write(`monitor: ${path}: ${error.message}\n`);
    port.destroy();
  });
  return {
    name: `${path} at ${baud} baud`,
    output: port,
    input: port,
    eol: "\r\n",
    close: () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

/** A saved log, or `-`: standard input (`npm start | npm run monitor -- --file -`); read once, nothing typed. */
export function openFile(path: string): Source {
  const output = path === "-" ? process.stdin : createReadStream(path);
  return { name: path === "-" ? "standard input" : path, output, eol: "\n", close: async () => void output.destroy() };
}

/** `npm start` with `args`, run by this Node: the simulated device, its serial port on stdout. */
export function startSimulator(args: string[]): Source {
  const child = spawn(
    process.execPath,
    ["--enable-source-maps", "scripts/run-ts.mjs", "hosts/sim/node/start.ts", ...args],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name: `the simulator (npm start${args.length ? ` -- ${args.join(" ")}` : ""})`,
    output: child.stdout,
    input: child.stdin,
    eol: "\n",
    // Ending its input is the simulator's Ctrl-D: the device says goodbye to the broker and the simulator exits.
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** Calls `onLine` with each line of `stream`, line endings (\n or \r\n) removed; resolves when the stream ends. */
export function eachLine(stream: Readable, onLine: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", onLine);
  return new Promise((resolve) => lines.once("close", resolve));
}
