// A device whose event loop runs late, on a clock the test owns: the real firmware on a Host where every event (a
// timer due, bytes arriving, a close) happens at its time, and the loop handles it `late()` ms after that, in the
// order they happened, as a busy or CPU-starved board does; `now()` is the time the loop handles it. The network
// behind it keeps the true time: a broker that answers each packet as it arrives (decoded and encoded with
// mqtt-packet, not our codec), and a path that may cut a connection at a time of its own. Nothing here waits for
// anything real: minutes of device time take milliseconds, the same every time for one seed.

import { generate, type Packet, parser } from "mqtt-packet";
import { start } from "tether/app/firmware";
import {
  type ConnectOptions,
  callTimer,
  type HeapInfo,
  type Host,
  type HostEvents,
  type NetError,
  type Socket,
  type SocketHandlers,
  type Timer,
  type TimerCallback,
} from "tether/host";
import { seeded } from "./random";

/** One connection as the path sees it, for the scenario's hooks. */
export interface Flow {
  /** Ends the connection at `at`, toward the device: FIN (`closed`) or RST (`reset`); the broker forgets it. */
  end(code: "closed" | "reset", at: number): void;
  /** When the path last carried a packet either way. */
  lastPacket: number;
}

/** What the path between device and broker does; `host.network()` runs its own actions at their times. */
export interface Path {
  /** The broker's CONNACK went out on `flow` at `at`. */
  connack?(flow: Flow, at: number): void;
  /** The device's bytes enter the path at `at`: false drops them (the path forgot the flow). */
  write?(flow: Flow, at: number): boolean;
}

interface Pending {
  at: number;
  seq: number;
  run: () => void;
  /** How late the loop gets to it, drawn once it is next. */
  late?: number;
}

export class LateHost implements Host {
  readonly platform = "late";
  readonly deviceId = "00000000001a";
  serial = "";
  private clock = 0;
  private seq = 0;
  /** What the device's loop has to handle, and what the network does by itself. */
  private readonly queue: Pending[] = [];
  private readonly net: Pending[] = [];
  private readonly settings = new Map<string, string>();
  private readonly random_: () => number;
  /** Times the loop is busy with something else: [from, to) each. */
  private readonly stalls: [number, number][] = [];
  /** Connections the broker has seen: the second and later CONNECTs resume the session. */
  private sessions = 0;
  private events: HostEvents | undefined;

  constructor(
    /** How late the loop handles an event that happened at `at`, ms. */
    private readonly late: (at: number) => number,
    private readonly path: Path,
    seed: number,
  ) {
    this.random_ = seeded(seed ^ 0x5eed);
  }

  /** Boots the firmware with `config`. */
  boot(config: Record<string, string>): void {
    start(this, config);
  }

  /** Runs the device until `done()` holds or the clock passes `until` ms; true if `done()` held. */
  run(done: () => boolean, until: number): boolean {
    for (let events = 0; events < 1e6; events++) {
      if (done()) return true;
      const next = first(this.queue);
      const net = first(this.net);
      if (next) next.late ??= Math.round(this.late(next.at)) + this.stalled(next.at);
      // The loop gets to its next event `late` after it happened, and never before it is done with the last one;
      // what the network does meanwhile happens at its own time.
      const handled = next ? Math.max(this.clock, next.at + next.late!) : Number.POSITIVE_INFINITY;
      if (net && net.at <= handled) {
        this.net.splice(this.net.indexOf(net), 1);
        net.run();
        continue;
      }
      if (!next || handled > until) return done();
      this.queue.splice(this.queue.indexOf(next), 1);
      this.clock = handled;
      next.run();
    }
    throw new Error("a million events: the device loops");
  }

  /** The loop is busy from `from` for `ms` (a flash erase, a long garbage collection): what happens meanwhile waits. */
  stall(from: number, ms: number): void {
    this.stalls.push([from, from + ms]);
  }

  private stalled(at: number): number {
    for (const [from, to] of this.stalls) if (at >= from && at < to) return to - at;
    return 0;
  }

  /** The network does `run` at `at`, whatever the device is doing. */
  network(at: number, run: () => void): void {
    this.net.push({ at, seq: this.seq++, run });
  }

  /** The codes of the device's `diag` lines so far, in order. */
  codes(): string[] {
    return [...this.serial.matchAll(/ [EW] diag (\w+) /g)].map((m) => m[1]!);
  }

  now(): number {
    return this.clock;
  }

  wallClock(): number {
    return 0;
  }

  timer(callback: TimerCallback): Timer {
    let pending: Pending | undefined;
    return {
      schedule: (ms) => {
        this.drop(pending);
        pending = this.at(this.clock + ms, () => {
          pending = undefined;
          callTimer(callback);
        });
      },
      cancel: () => {
        this.drop(pending);
        pending = undefined;
      },
    };
  }

  random(): number {
    return this.random_();
  }

  serialWrite(text: string): void {
    this.serial += text;
  }

  listen(events: HostEvents): void {
    this.events = events;
  }

  /** A console line typed at `at` ms: the loop handles it late, as any event. */
  type(line: string, at: number): void {
    this.at(at, () => this.events?.onSerialLine(line));
  }

  linkUp(): boolean {
    return true;
  }

  connect(_options: ConnectOptions, handlers: SocketHandlers): Socket {
    let open = true;
    const flow: Flow = {
      lastPacket: this.clock,
      end: (code, at) => {
        if (!open) return;
        open = false;
        this.at(at, () => handlers.onError({ code } as NetError));
      },
    };
    const toDevice = (packet: Packet) => {
      const bytes = new Uint8Array(generate(packet));
      flow.lastPacket = this.clock;
      this.at(this.clock, () => open && handlers.onData(bytes));
    };
    const broker = parser({ protocolVersion: 4 });
    broker.on("packet", (packet: Packet) => {
      switch (packet.cmd) {
        case "connect":
          toDevice({ cmd: "connack", sessionPresent: this.sessions++ > 0, returnCode: 0 } as Packet);
          this.path.connack?.(flow, this.clock);
          return;
        case "subscribe":
          toDevice({ cmd: "suback", messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
          return;
        case "publish":
          if (packet.qos === 1) toDevice({ cmd: "puback", messageId: packet.messageId } as Packet);
          return;
        case "pingreq":
          toDevice({ cmd: "pingresp" });
          return;
      }
    });
    this.at(this.clock + 1, () => open && handlers.onConnect());
    return {
      write: (bytes) => {
        if (!open || this.path.write?.(flow, this.clock) === false) return true;
        flow.lastPacket = this.clock;
        broker.parse(Buffer.from(bytes));
        return true;
      },
      close: () => {
        open = false;
      },
    };
  }

  resolve(_name: string, callback: (address: string | undefined) => void): void {
    this.at(this.clock, () => callback("10.0.0.5"));
  }

  readSetting(key: string): string | undefined {
    return this.settings.get(key);
  }

  writeSetting(key: string, value: string | undefined): void {
    if (value === undefined) this.settings.delete(key);
    else this.settings.set(key, value);
  }

  heap(): HeapInfo {
    return { used: 20000, peak: 20000, total: 100000 };
  }

  private drop(pending: Pending | undefined): void {
    const i = pending ? this.queue.indexOf(pending) : -1;
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** An event for the device at `at` (the loop handles it later). */
  private at(at: number, run: () => void): Pending {
    const pending = { at, seq: this.seq++, run };
    this.queue.push(pending);
    return pending;
  }
}

/** The earliest of `list`, first come first for the same time. */
function first(list: Pending[]): Pending | undefined {
  let best: Pending | undefined;
  for (const p of list) if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
  return best;
}
