// One simulated device: the firmware runs in a real XS engine (an xsnap-worker process) and this object plays its
// hardware. The XS side (hosts/sim/xs/host.ts) turns every Host call into a request answered here synchronously;
// what happens later (a timer fires, bytes arrive, a line is typed) goes back to it as an event, one at a time, in
// order. The message format is in hosts/sim/xs/protocol.ts.

import { createHash, randomBytes } from "node:crypto";
import { lookup } from "node:dns";
import { resolve as resolvePath } from "node:path";
import type { ConnectOptions, HeapInfo } from "tether/host";
import {
  EV_CONNECT,
  EV_DATA,
  EV_ERROR,
  EV_LINK,
  EV_LOOKUP,
  EV_RESOLVED,
  EV_SERIAL,
  EV_SHUTDOWN,
  EV_TIMER,
  EV_WRITABLE,
  float64,
  HEADER_SIZE,
  idOf,
  message,
  REQ_BOOT,
  REQ_CLOSE,
  REQ_CONNECT,
  REQ_HEAP,
  REQ_LINK,
  REQ_LISTEN,
  REQ_NOW,
  REQ_RANDOM,
  REQ_RESOLVE,
  REQ_RESTART,
  REQ_SERIAL,
  REQ_SETTING_READ,
  REQ_SETTING_WRITE,
  REQ_TIMER_CLEAR,
  REQ_TIMER_SET,
  REQ_WRITE,
  readFloat64,
} from "../xs/protocol";
import { bundleForXs } from "./bundle";
import { DeviceTimers } from "./device-timers";
import { netError, SimSocket } from "./net";
import { Storage } from "./storage";
import { type Exit, XsError, Xsnap } from "./xsnap";

export const FIRMWARE_ENTRY = "hosts/sim/xs/main.ts";

/**
 * Heap figures are reported as a 32-bit ESP32 build would see them: XS counts the heap in slots, 16 bytes each there
 * (32 on this 64-bit desktop). `used` is the live slot count xsnap reported after the last event the firmware
 * handled (so it lags by one event), times 16; `peak` is the highest `used` seen; `total` is what the simulator's
 * engine has reserved from the system so far (xsnap's `allocate`), the closest thing to a heap size it has.
 */
export const ESP32_SLOT_SIZE = 16;

const EXIT_REASONS: Record<number, string> = {
  2: "I/O error",
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception",
  16: "no more keys",
  17: "too much computation",
};

export interface SimDeviceOptions {
  /** Build-time settings (see the setting keys), as strings. */
  config: Record<string, string>;
  /** JSON file for the device's storage; kept across restarts. In memory when absent. */
  storageFile?: string;
  /** Called with each piece of serial output as it is written. */
  onSerial?(text: string): void;
  /** XS entry to run instead of the firmware (tests of the host bridge); relative to the repository root. */
  entry?: string;
  /**
   * Host.deviceId (a MAC address on a board): 12 hex digits. By default derived from the storage file's path, so a
   * device keeps its id across restarts, or random without one, so that devices in one test never share it.
   */
  deviceId?: string;
  /** Link state at boot (default up). */
  linkUp?: boolean;
  /** Milliseconds shutdown() waits for the firmware to close its connections (default 2000). */
  shutdownGraceMs?: number;
}

/**
 * Longest line the serial console takes, in characters: the board's console (hosts/moddable/device.ts) stops at
 * 256, and so does the simulator, so that what works here works on a device. A longer line is refused whole: cut
 * short, a `config set` would save a value nobody typed.
 */
export const LINE_MAX = 256;

const EMPTY = new Uint8Array(0);
const utf8 = (text: string) => Buffer.from(text, "utf8");
const json = (value: unknown) => utf8(JSON.stringify(value));
const textOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise.then(() => {}), timeout]).finally(() => clearTimeout(timer));
}

export class SimDevice {
  /** Everything the device has written to its serial port so far. */
  serialOutput = "";
  /** Resolves when the device has stopped, however it stopped (a reboot is not a stop). */
  readonly exited: Promise<Exit>;
  private worker: Xsnap;
  private bootTime = performance.now();
  /** The firmware's script, kept for a reboot. */
  private code = "";
  /** Set by REQ_RESTART: the firmware boots again once the command that asked is over. */
  private restartAsked = false;
  /** Workers stopped by a reboot: their exit is not the device's. */
  private readonly retired = new WeakSet<Xsnap>();
  private stopped: (exit: Exit) => void = () => {};
  private readonly storage: Storage;
  private readonly deviceId: string;
  private readonly timers = new DeviceTimers((id) => this.send(message(EV_TIMER, id)));
  private readonly sockets = new Map<number, SimSocket>();
  private readonly serialWatchers = new Set<() => void>();
  /** Serial, link and shutdown events wait here until the firmware calls listen(). */
  private readonly held: Uint8Array[] = [];
  private link: boolean;
  private listening = false;
  private stopping = false;
  private peak = 0;

  /** Boots a device: resolves once the firmware's start() has returned (or crashed, which serial shows). */
  static async start(options: SimDeviceOptions): Promise<SimDevice> {
    const device = new SimDevice(options);
    device.code = await bundleForXs(options.entry ?? FIRMWARE_ENTRY);
    await device.boot();
    return device;
  }

  /** Runs the firmware's script in the current worker, as a board runs it after a reset. */
  private async boot(): Promise<void> {
    await this.worker.evaluate(this.code).catch((error) => this.report(error));
    this.timers.endTurn();
  }

  /** A new XS engine, nothing of the last one kept but what a board keeps: storage and device id. */
  private startWorker(): Xsnap {
    const worker = new Xsnap({
      name: "tether-sim",
      onRequest: (request) => this.answer(request),
      onOutput: (text) => this.print(text),
    });
    worker.exited.then((exit) => {
      // A worker stopped for a reboot: the device goes on.
      if (this.retired.has(worker)) return;
      if (!this.stopping) this.print(`\n*** device halted: ${describeExit(exit)}\n`);
      this.halt();
      this.stopped(exit);
    });
    return worker;
  }

  /**
   * The firmware asked for a restart (host.restart()): once its connections are closed (within the shutdown
   * grace), the engine stops and a new one boots the firmware with the same storage, as a board's reset does.
   */
  private async reboot(): Promise<void> {
    this.restartAsked = false;
    const open = [...this.sockets.values()].map((socket) => socket.closed);
    await within(Promise.all(open), this.options.shutdownGraceMs ?? 2000);
    if (this.stopping || !this.running) return;
    const old = this.worker;
    this.retired.add(old);
    this.listening = false;
    old.close();
    await within(old.exited, 2000);
    old.kill();
    this.halt();
    this.worker = this.startWorker();
    this.bootTime = performance.now();
    this.peak = 0;
    await this.boot();
  }

  private constructor(private readonly options: SimDeviceOptions) {
    this.storage = new Storage(options.storageFile);
    if (this.storage.problem) this.print(`*** storage: ${this.storage.problem}\n`);
    this.deviceId = options.deviceId ?? defaultDeviceId(options.storageFile);
    this.link = options.linkUp ?? true;
    this.exited = new Promise((resolve) => {
      this.stopped = resolve;
    });
    this.worker = this.startWorker();
  }

  /** Types a line on the serial console (no line ending); one longer than LINE_MAX is refused with one line. */
  typeLine(line: string): void {
    if (line.length > LINE_MAX) {
      this.print(`*** serial: line refused: ${line.length} characters, the console takes at most ${LINE_MAX}\n`);
      return;
    }
    this.deliver(message(EV_SERIAL, 0, utf8(line)));
  }

  /** Raises or drops the network link; the firmware gets onLink, open connections go silent while it is down. */
  setLink(up: boolean): void {
    if (up === this.link) return;
    this.link = up;
    for (const socket of this.sockets.values()) socket.hold(!up);
    this.deliver(message(EV_LINK, up ? 1 : 0));
  }

  get linkUp(): boolean {
    return this.link;
  }

  get running(): boolean {
    return this.worker.running;
  }

  /** The heap figures the firmware gets from host.heap(). */
  heap(): HeapInfo {
    const meter = this.worker.meter;
    const used = (meter?.currentHeapCount ?? 0) * ESP32_SLOT_SIZE;
    this.peak = Math.max(this.peak, used);
    return { used, peak: this.peak, total: meter?.allocate ?? 0 };
  }

  /**
   * Waits for serial output (from offset `from`) to match. Rejects after `timeoutMs`, or when the device stops
   * without having written it, with the tail of the output in the message.
   */
  waitForSerial(pattern: RegExp, timeoutMs = 20000, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.serialOutput.slice(from));
        if (match) {
          stop();
          resolve(match);
        }
      };
      const fail = (why: string) => {
        stop();
        reject(
          new Error(`serial never matched ${pattern} (${why}); output ends with:\n${this.serialOutput.slice(-2000)}`),
        );
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms`), timeoutMs);
      const stop = () => {
        clearTimeout(timer);
        this.serialWatchers.delete(check);
      };
      this.serialWatchers.add(check);
      check();
      this.exited.then(() => {
        check();
        if (this.serialWatchers.has(check)) fail("the device stopped");
      });
    });
  }

  /**
   * Stops the device the polite way: the firmware gets onShutdown (and sends its DISCONNECT), then has up to
   * shutdownGraceMs to close its connections while events still flow; then the engine stops.
   */
  async shutdown(): Promise<Exit> {
    if (this.running && !this.stopping) {
      const grace = this.options.shutdownGraceMs ?? 2000;
      // Bounded too: an engine busy with a runaway computation takes no event, and Ctrl-C must still stop it.
      if (this.listening) await within(this.send(message(EV_SHUTDOWN)), grace);
      const open = [...this.sockets.values()].map((socket) => socket.closed);
      await within(Promise.all(open), grace);
    }
    this.stopping = true;
    this.worker.close();
    await within(this.worker.exited, 2000);
    this.worker.kill();
    return this.exited;
  }

  /** Pulls the power: the engine dies at once and every connection is reset, so peers notice. */
  kill(): Promise<Exit> {
    this.stopping = true;
    this.worker.kill();
    this.halt();
    return this.exited;
  }

  /** Whatever stopped the engine, nothing of the device may stay behind: timers, sockets, pending events. */
  private halt(): void {
    this.timers.halt();
    for (const socket of this.sockets.values()) socket.reset();
    this.sockets.clear();
    this.held.length = 0;
  }

  /** Answers one request from the XS side (see protocol.ts). Runs while the firmware waits: no I/O waits here. */
  private answer(request: Uint8Array): Uint8Array {
    const id = idOf(request);
    const payload = request.subarray(HEADER_SIZE);
    try {
      switch (request[0]) {
        case REQ_BOOT:
          return json({ config: this.options.config, deviceId: this.deviceId });
        case REQ_LISTEN:
          this.listening = true;
          for (const event of this.held.splice(0)) this.send(event);
          return EMPTY;
        case REQ_NOW:
          // Whole milliseconds, as Time.ticks counts on a board.
          return float64(Math.floor(performance.now() - this.bootTime));
        case REQ_LINK:
          return Uint8Array.of(this.link ? 1 : 0);
        case REQ_SERIAL:
          this.print(textOf(payload));
          return EMPTY;
        case REQ_TIMER_SET:
          this.timers.clear(readFloat64(payload, 8));
          this.timers.set(id, readFloat64(payload));
          return EMPTY;
        case REQ_TIMER_CLEAR:
          this.timers.clear(id);
          return EMPTY;
        case REQ_CONNECT:
          this.connect(id, JSON.parse(textOf(payload)));
          return EMPTY;
        case REQ_WRITE:
          return Uint8Array.of(this.sockets.get(id)?.write(payload) === false ? 0 : 1);
        case REQ_CLOSE:
          this.sockets.get(id)?.close();
          return EMPTY;
        case REQ_RESOLVE:
          this.resolve(id, textOf(payload));
          return EMPTY;
        case REQ_SETTING_READ: {
          let value: string | undefined;
          try {
            value = this.storage.read(textOf(payload));
          } catch (error) {
            // A stored value that is not a string: the firmware's read throws it, and the firmware names it.
            return Buffer.concat([Uint8Array.of(2), utf8((error as Error).message)]);
          }
          return value === undefined ? EMPTY : Buffer.concat([Uint8Array.of(1), utf8(value)]);
        }
        case REQ_SETTING_WRITE: {
          const [key, value] = JSON.parse(textOf(payload)) as [string, string | null];
          this.storage.write(key, value ?? undefined);
          return EMPTY;
        }
        case REQ_HEAP:
          return json(this.heap());
        case REQ_RANDOM:
          return float64(randomBytes(6).readUIntBE(0, 6) / 2 ** 48);
        case REQ_RESTART:
          this.restartAsked = true;
          return EMPTY;
        default:
          throw new Error(`unknown request ${request[0]}`);
      }
    } catch (error) {
      this.print(`\n*** simulator error: ${(error as Error).stack}\n`);
      return EMPTY;
    }
  }

  private connect(id: number, options: ConnectOptions): void {
    if (!this.link) {
      this.send(message(EV_ERROR, id, json({ code: "unreachable", detail: "link down" })));
      return;
    }
    const socket = new SimSocket(options, {
      resolved: (address) => this.send(message(EV_RESOLVED, id, utf8(address))),
      connected: () => this.send(message(EV_CONNECT, id)),
      data: (bytes) => this.send(message(EV_DATA, id, bytes)),
      writable: () => this.send(message(EV_WRITABLE, id)),
      failed: (error) => this.send(message(EV_ERROR, id, json(error))),
    });
    this.sockets.set(id, socket);
    socket.closed.then(() => this.sockets.delete(id));
  }

  private resolve(id: number, name: string): void {
    if (!this.link) {
      this.send(message(EV_LOOKUP, id, json({ error: { code: "unreachable", detail: "link down" } })));
      return;
    }
    lookup(name, { family: 4 }, (error, address) => {
      this.send(message(EV_LOOKUP, id, json(error ? { error: netError(error) } : { address })));
    });
  }

  /** Events the firmware only gets once it listens, as a console or Wi-Fi driver only reports once started. */
  private deliver(event: Uint8Array): void {
    if (this.listening) this.send(event);
    else this.held.push(event);
  }

  /** Hands one event to the firmware; never rejects. */
  private send(event: Uint8Array): Promise<void> {
    if (!this.running || this.stopping || this.retired.has(this.worker)) return Promise.resolve();
    return this.worker
      .command(event)
      .then(
        () => void this.heap(),
        (error) => this.report(error),
      )
      .finally(() => {
        this.timers.endTurn();
        if (this.restartAsked) void this.reboot();
      });
  }

  /** An exception escaped the firmware: the device prints it, as a board prints a crash, and goes on. */
  private report(error: unknown): void {
    if (error instanceof XsError) this.print(`\n*** uncaught exception: ${error.message}\n`);
    else if (this.running) this.print(`\n*** simulator error: ${(error as Error).stack}\n`);
  }

  private print(text: string): void {
    this.serialOutput += text;
    this.options.onSerial?.(text);
    for (const check of this.serialWatchers) check();
  }
}

function defaultDeviceId(storageFile: string | undefined): string {
  if (!storageFile) return randomBytes(6).toString("hex");
  return createHash("sha256").update(resolvePath(storageFile)).digest("hex").slice(0, 12);
}

function describeExit({ code, signal }: Exit): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code}${code !== null && EXIT_REASONS[code] ? ` (${EXIT_REASONS[code]})` : ""}`;
}
