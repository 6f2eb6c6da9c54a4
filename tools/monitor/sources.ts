// Where the monitor's lines come from, and where typed lines go: a real serial port (the npm serialport package),
// reopened whenever it comes back; a saved log file (read once); or a simulated device (`npm start` as a child
// process: its output is the serial port, its input the console).

import { spawn } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import type { Readable } from "node:stream";
import { SerialPort } from "serialport";

export interface Source {
  /** Where it reads from, for the first line the monitor prints. */
  name: string;
  /** Line ending the device expects after a typed line. */
  eol: string;
  /** Starts delivering the device's output; resolves when the source has ended (end of file, close()). */
  run(onText: (text: string) => void): Promise<void>;
  /** Sends typed text to the device; undefined for a file. */
  write?(text: string): void;
  /** Resets the board through DTR and RTS; undefined where there is no board. */
  reset?(): Promise<void>;
  close(): Promise<void>;
}

/** What the monitor says about the port (gone, back, typed lines kept): one line each, on stderr. */
export type Note = (text: string) => void;

/** Typed lines kept while the port is away, sent when it is back; older ones give way. */
export const KEPT_MAX = 16;
/** How often a port that went away is looked for, ms: as miniterm and idf.py monitor do, by trying. */
const REOPEN_MS = 250;

/**
 * A serial port at `baud` bits per second, 8N1. The first open must succeed (a wrong name is a mistake to report
 * at once); after that, a port that goes away (a board unplugged, reset by its USB bridge, a pty closed) is said so
 * and reopened when it comes back, and lines typed meanwhile are kept and sent then.
 */
export async function openPort(path: string, baud: number, note: Note): Promise<Source> {
  let port = await open(path, baud);
  let closing = false;
  let deliver: (text: string) => void = () => {};
  let ended: () => void = () => {};
  const kept: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const attach = (current: SerialPort) => {
    let lost = false;
    // A read that fails (EIO, EBADF) may come as an error, a close, or both: one line, then the search starts.
    const gone = (error?: Error | null) => {
      if (lost || closing) return;
      lost = true;
      note(`${path} gone${error ? ` (${error.message})` : ""}; reopening it when it is back (Ctrl-C ends)`);
      if (current.isOpen) current.close(() => {});
      timer = setTimeout(retry, REOPEN_MS);
    };
    current.on("data", (chunk: Buffer) => deliver(chunk.toString("utf8")));
    current.on("error", gone);
    current.on("close", gone);
    // A device node that disappears (a USB adapter unplugged, a pty's link removed) may say nothing to a reader
    // that is not reading at that moment: its name going away says it.
    const watch = setInterval(() => {
      if (lost || closing) clearInterval(watch);
      else if (!existsSync(path)) {
        clearInterval(watch);
        gone(new Error("the device node went away"));
      }
    }, REOPEN_MS);
  };
  const retry = async () => {
    timer = undefined;
    if (closing) return;
    if (!existsSync(path)) {
      timer = setTimeout(retry, REOPEN_MS);
      return;
    }
    try {
      port = await open(path, baud);
    } catch {
      timer = setTimeout(retry, REOPEN_MS);
      return;
    }
    if (closing) {
      port.close();
      return;
    }
    attach(port);
    note(`${path} is back, reopened${kept.length ? `; sending ${kept.length} line(s) typed meanwhile` : ""}`);
    for (const text of kept.splice(0)) port.write(text);
  };
  attach(port);
  return {
    name: `${path} at ${baud} baud`,
    eol: "\r\n",
    run(onText) {
      deliver = onText;
      return new Promise((resolve) => {
        ended = resolve;
      });
    },
    write(text) {
      if (port.isOpen && !timer) {
        port.write(text);
        return;
      }
      if (kept.length === KEPT_MAX) kept.shift();
      kept.push(text);
      note(`${path} is away: line kept until it is back (${kept.length} kept)`);
    },
    reset: () => resetBoard(port),
    async close() {
      closing = true;
      clearTimeout(timer);
      if (port.isOpen) await new Promise((resolve) => port.close(resolve));
      ended();
    },
  };
}

function open(path: string, baud: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: baud, autoOpen: false });
  return new Promise((resolve, reject) => port.open((error) => (error ? reject(error) : resolve(port))));
}

/** The lines a board's reset takes: what SerialPort.set() is called with, and the pause between. */
export interface ModemLines {
  set(options: { dtr?: boolean; rts?: boolean }): Promise<void>;
}

/**
 * Resets an ESP32 dev board the way esptool and idf.py monitor do: on its USB bridge, RTS drives EN (reset) and DTR
 * drives GPIO0 (boot mode), both inverted. EN low with GPIO0 high, then EN high: a normal boot, not the ROM loader.
 */
export async function resetSequence(lines: ModemLines, pauseMs = 100): Promise<void> {
  await lines.set({ dtr: false, rts: true });
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  await lines.set({ dtr: false, rts: false });
}

function resetBoard(port: SerialPort): Promise<void> {
  return resetSequence({
    set: (options) => new Promise((resolve, reject) => port.set(options, (e) => (e ? reject(e) : resolve()))),
  });
}

/** A saved log, or `-`: standard input (`npm start | npm run monitor -- --file -`); read once, nothing typed. */
export function openFile(path: string): Source {
  const stream = path === "-" ? process.stdin : createReadStream(path);
  return {
    name: path === "-" ? "standard input" : path,
    eol: "\n",
    run: (onText) => pipe(stream, onText),
    close: async () => void stream.destroy(),
  };
}

/** `npm start` with `args`, run by this Node: the simulated device, its serial port on stdout. */
export function startSimulator(args: string[]): Source {
  const child = spawn(
    process.execPath,
    ["--enable-source-maps", "scripts/run-ts.mjs", "hosts/sim/node/start.ts", ...args],
    // A process group of its own: the monitor's Ctrl-C is the monitor's, which ends the simulator politely.
    { stdio: ["pipe", "pipe", "inherit"], detached: true },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name: `the simulator (npm start${args.length ? ` -- ${args.join(" ")}` : ""})`,
    eol: "\n",
    run: (onText) => pipe(child.stdout, onText).then(() => exited),
    write: (text) => void child.stdin.write(text),
    // Ending its input is the simulator's Ctrl-D: the device says goodbye to the broker and the simulator exits.
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

function pipe(stream: Readable, onText: (text: string) => void): Promise<void> {
  stream.setEncoding("utf8");
  stream.on("data", onText);
  return new Promise((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}

/** Splits text into lines (\n or \r\n endings removed), keeping a partial line for the next piece. */
export class Lines {
  private partial = "";

  /** The complete lines in `text` (with what was kept before it). */
  feed(text: string): string[] {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  }

  /** What is left of a line that never ended (the source went away): the last line, or nothing. */
  flush(): string[] {
    const rest = this.partial.replace(/\r$/, "");
    this.partial = "";
    return rest ? [rest] : [];
  }
}
