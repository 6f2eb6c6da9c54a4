// A Host inside XS with nothing behind it, for counting computrons (bench/xs/meter.ts): no sockets, no clocks, so
// the same inputs give the same count every run. Time stands still until advance() moves it, timers fire only
// there, and the one socket counts what the client writes and takes the bytes that feed() gives it. Everything here
// runs inside the measured delivery, so it does as little as it can.
import {
  type ConnectOptions,
  callTimer,
  type HeapInfo,
  type Host,
  type HostEvents,
  type Socket,
  type SocketHandlers,
  type Timer,
  type TimerCallback,
} from "tether/host";

class ManualTimer implements Timer {
  /** When the callback is due, ms on the host's clock; infinite while disarmed. */
  due = Number.POSITIVE_INFINITY;

  constructor(
    private readonly host: ManualHost,
    readonly callback: TimerCallback,
  ) {}

  schedule(ms: number): void {
    this.due = this.host.now() + ms;
  }

  cancel(): void {
    this.due = Number.POSITIVE_INFINITY;
  }
}

export class ManualHost implements Host {
  readonly platform = "manual";
  readonly deviceId = "000000000000";
  /** Bytes the client wrote so far. */
  written = 0;
  /** Everything the client printed on the serial port. */
  serial = "";
  /**
   * Sees each write while it lasts (the client may reuse the buffer afterwards). None when nothing needs to: then a
   * write counts its bytes and nothing more, as the fake socket under Moddable's module does (bench/xs/moddable/).
   */
  onWrite: ((bytes: Uint8Array) => void) | undefined;
  private clock = 0;
  /** One per timer() call: the client makes one per job, not one per deadline, so this stays a handful. */
  private readonly timers: ManualTimer[] = [];
  private handlers: SocketHandlers | undefined;

  now(): number {
    return this.clock;
  }

  wallClock(): number {
    return 0;
  }

  timer(callback: TimerCallback): Timer {
    const timer = new ManualTimer(this, callback);
    this.timers.push(timer);
    return timer;
  }

  /** No retries are expected, so no spread is needed: a constant keeps the run the same every time. */
  random(): number {
    return 0.5;
  }

  serialWrite(text: string): void {
    this.serial += text;
  }

  listen(_events: HostEvents): void {}

  linkUp(): boolean {
    return true;
  }

  /** The socket of the last connect; it stays silent until open() and feed(). */
  connect(_options: ConnectOptions, handlers: SocketHandlers): Socket {
    this.handlers = handlers;
    return {
      write: (bytes) => {
        this.written += bytes.length;
        this.onWrite?.(bytes);
        return true;
      },
      close: () => {
        if (this.handlers === handlers) this.handlers = undefined;
      },
    };
  }

  resolve(_name: string, callback: (address: string | undefined) => void): void {
    callback("127.0.0.1");
  }

  readSetting(_key: string): string | undefined {
    return undefined;
  }

  writeSetting(_key: string, _value: string | undefined): void {}

  heap(): HeapInfo {
    return { used: 0, peak: 0, total: 0 };
  }

  /** The connection is established: the client sends its CONNECT. */
  open(): void {
    this.socket().onConnect();
  }

  /** Bytes arrive from the broker. */
  feed(bytes: Uint8Array): void {
    this.socket().onData(bytes);
  }

  /** Moves the clock `ms` on and runs the timers due by then, earliest first, each once per deadline. */
  advance(ms: number): void {
    this.clock += ms;
    const timers = this.timers;
    // Bounded: a callback that keeps rescheduling itself at 0 ms would loop forever, as on a device.
    for (let fired = 0; fired < 1000; fired++) {
      let next: ManualTimer | undefined;
      for (let i = 0; i < timers.length; i++) {
        const timer = timers[i]!;
        if (timer.due <= this.clock && (next === undefined || timer.due < next.due)) next = timer;
      }
      if (next === undefined) return;
      next.due = Number.POSITIVE_INFINITY;
      callTimer(next.callback);
    }
    throw new Error("timers keep firing at the same instant");
  }

  private socket(): SocketHandlers {
    if (!this.handlers) throw new Error("no open socket");
    return this.handlers;
  }
}
