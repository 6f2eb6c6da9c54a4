// A driver for one xsnap-worker process: the XS engine, alone in its own process, as on a device.
//
// The wire (see xsnap-worker.c): netstrings `<length>:<bytes>,` go in on fd 3 and come out on fd 4. We send
// `e<code>` (evaluate a script) or `?<bytes>` (call globalThis.handleCommand with an ArrayBuffer). While it runs,
// the worker may call its global issueCommand(ArrayBuffer): that arrives as `?<bytes>` on fd 4 and the worker blocks
// until we answer `/<bytes>` on fd 3. The command ends with `.<meter JSON>\x01<reply bytes>` or `!<error text>`.
// The worker reads fd 3 only between commands or inside issueCommand, so commands go one at a time.

import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";

const WORKER = resolve("node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker");

const QUERY = 0x3f; // '?'
const OK = 0x2e; // '.'
const ERROR = 0x21; // '!'
const METER_END = 0x01;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Figures xsnap reports after each command. */
export interface Meter {
  /** Live slots (fixed-size value cells) right now; only the garbage collector lowers it. */
  currentHeapCount: number;
  /** Computation steps the last command took. */
  compute: number;
  /** Bytes the engine has taken from the system for slots and chunks so far. */
  allocate: number;
}

/** Answers the worker's issueCommand; must not throw. */
export type RequestHandler = (request: Uint8Array) => Uint8Array;

export interface XsnapOptions {
  /** Shown by ps; helps when several workers run. */
  name?: string;
  onRequest?: RequestHandler;
  /** What the worker prints (XS print(), xsnap's own diagnostics). */
  onOutput?: (text: string) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The worker's `!` answer: an exception escaped the evaluated code or handleCommand. */
export class XsError extends Error {
  override name = "XsError";
}

interface Pending {
  message: Uint8Array;
  resolve(reply: Uint8Array): void;
  reject(error: Error): void;
}

export class Xsnap {
  /** Figures from the last completed command; undefined until one completes. */
  meter: Meter | undefined;
  /** Resolves when the process is gone, however it ended. */
  readonly exited: Promise<Exit>;
  onRequest: RequestHandler;
  private readonly child: ChildProcess;
  private readonly toWorker: Writable;
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private received: Buffer = Buffer.alloc(0);
  private gone: Exit | undefined;
  /** Whether close() ended the command channel. */
  private closed = false;

  constructor(options: XsnapOptions = {}) {
    this.onRequest = options.onRequest ?? (() => new Uint8Array(0));
    // `-l 0`: no computation limit, as on a device (a runaway loop hangs it rather than being cut off).
    // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and a worker killed by
    // that SIGINT dies before the device can say goodbye (DISCONNECT). The simulator stops it; when the simulator
    // dies, the worker reads the end of its command channel and exits.
    this.child = spawn(WORKER, [options.name ?? "xsnap", "-l", "0"], {
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const output = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      // Our own close() ends the command channel, and the worker says so as it exits: not the device's output.
      if (this.closed && text.startsWith("Got EOF on netstring read")) return;
      options.onOutput?.(text);
    };
    this.child.stdout!.on("data", output);
    this.child.stderr!.on("data", output);
    this.toWorker = this.child.stdio[3] as Writable;
    // The worker may die with bytes unread; that must not become an uncaught EPIPE in our process.
    this.toWorker.on("error", () => {});
    const fromWorker = this.child.stdio[4] as Readable;
    fromWorker.on("data", (chunk: Buffer) => this.receive(chunk));
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.gone = { code, signal };
        this.failAll(new Error(`xsnap worker exited (${signal ?? `code ${code}`})`));
        resolve(this.gone);
      });
    });
  }

  /** Evaluates a script in the global scope; resolves with the bytes of an ArrayBuffer result (else empty). */
  evaluate(code: string): Promise<Uint8Array> {
    return this.enqueue(Buffer.from(`e${code}`, "utf8"));
  }

  /** Calls globalThis.handleCommand(bytes) in the worker; resolves with the ArrayBuffer it returned (else empty). */
  command(bytes: Uint8Array): Promise<Uint8Array> {
    const message = new Uint8Array(bytes.length + 1);
    message[0] = QUERY;
    message.set(bytes, 1);
    return this.enqueue(message);
  }

  get running(): boolean {
    return this.gone === undefined;
  }

  /** Ends the command channel: the worker finishes its current command and exits on its own. */
  close(): void {
    this.closed = true;
    this.toWorker.end();
  }

  /** Stops the process at once, like pulling the power. */
  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  private enqueue(message: Uint8Array): Promise<Uint8Array> {
    if (!this.running) return Promise.reject(new Error("xsnap worker is not running"));
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.inFlight || !this.running) return;
    this.inFlight = this.queue.shift();
    if (this.inFlight) this.write(this.inFlight.message);
  }

  private write(...parts: Uint8Array[]): void {
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    this.toWorker.write(Buffer.concat([Buffer.from(`${length}:`), ...parts, Buffer.from(",")]));
  }

  /** Splits the byte stream into netstrings; a chunk may hold part of one, or several. */
  private receive(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    for (;;) {
      const colon = this.received.indexOf(COLON);
      if (colon < 0) return;
      const length = Number(this.received.subarray(0, colon).toString("latin1"));
      const end = colon + 1 + length;
      if (this.received.length <= end) return;
      if (!Number.isInteger(length) || this.received[end] !== COMMA) {
        this.protocolError(`malformed netstring from xsnap worker`);
        return;
      }
      const body = this.received.subarray(colon + 1, end);
      this.received = this.received.subarray(end + 1);
      this.handle(body);
    }
  }

  private handle(body: Buffer): void {
    const pending = this.inFlight;
    if (!pending) {
      this.protocolError("xsnap worker spoke while idle");
      return;
    }
    switch (body[0]) {
      case QUERY: {
        // Copied: the handler may keep it, and the receive buffer moves on.
        this.write(Buffer.from("/"), this.onRequest(Uint8Array.prototype.slice.call(body, 1)));
        return;
      }
      case OK: {
        const separator = body.indexOf(METER_END);
        if (separator > 0) this.meter = JSON.parse(body.subarray(1, separator).toString("utf8"));
        const reply = Uint8Array.prototype.slice.call(body, separator > 0 ? separator + 1 : 1);
        this.finish(() => pending.resolve(reply));
        return;
      }
      case ERROR:
        this.finish(() => pending.reject(new XsError(body.subarray(1).toString("utf8"))));
        return;
      default:
        this.protocolError(`unknown message from xsnap worker: ${body.subarray(0, 40).toString("latin1")}`);
    }
  }

  private finish(settle: () => void): void {
    this.inFlight = undefined;
    settle();
    this.sendNext();
  }

  private protocolError(text: string): void {
    this.failAll(new Error(text));
    this.kill();
  }

  private failAll(error: Error): void {
    const pending = this.inFlight ? [this.inFlight, ...this.queue] : this.queue.slice();
    this.inFlight = undefined;
    this.queue.length = 0;
    for (const p of pending) p.reject(error);
  }
}
