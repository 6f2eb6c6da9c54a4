// A Host on plain Node (node:net, Node's timers, performance.now), so that Tether's real Client runs on Node directly,
// without XS, beside MQTT.js. Only what the benchmarks and the fleet tool use is real: no TLS, no stored settings,
// no serial console. Each host has its own random generator, crypto-seeded unless a seed is given.
import { connect as tcpConnect } from "node:net";
import {
  callTimer,
  type Host,
  type HostEvents,
  type Socket,
  type SocketHandlers,
  type Timer,
  type TimerCallback,
} from "tether/host";
import { netError } from "../hosts/sim/node/net";
import { armTimer } from "../hosts/sim/node/timer";
import { cryptoSeed, generator } from "./random";

export class NodeHost implements Host {
  readonly platform = "node";
  readonly deviceId = "000000000000";
  private readonly sockets = new Set<() => void>();
  /** How to cancel each armed timer. */
  private readonly timers = new Set<() => void>();
  private readonly draw: () => number;

  /** `seed`: four 32-bit words for this host's generator (default: from the operating system). */
  constructor(readonly seed: Uint32Array = cryptoSeed()) {
    this.draw = generator(seed);
  }

  now(): number {
    return performance.now();
  }

  wallClock(): number {
    return Date.now();
  }

  /** A timer of 0 ms runs on the next turn of the event loop, as Moddable's Timer.set(callback, 0) does (armTimer). */
  timer(callback: TimerCallback): Timer {
    const timers = this.timers;
    let disarm: (() => void) | undefined;
    const cancel = () => {
      if (disarm) timers.delete(disarm);
      disarm?.();
      disarm = undefined;
    };
    return {
      schedule(ms: number) {
        cancel();
        const armed = armTimer(() => {
          timers.delete(armed);
          disarm = undefined;
          callTimer(callback);
        }, ms);
        disarm = armed;
        timers.add(armed);
      },
      cancel,
    };
  }

  random(): number {
    return this.draw();
  }

  serialWrite(_text: string): void {}

  listen(_events: HostEvents): void {}

  linkUp(): boolean {
    return true;
  }

  connect(options: { host: string; port: number; timeout: number }, handlers: SocketHandlers): Socket {
    const socket = tcpConnect({ host: options.host, port: options.port, noDelay: true });
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(deadline);
      this.sockets.delete(destroy);
    };
    const destroy = () => {
      finish();
      socket.destroy();
    };
    const fail = (error: Parameters<SocketHandlers["onError"]>[0]) => {
      if (done) return;
      destroy();
      handlers.onError(error);
    };
    const deadline = setTimeout(() => fail({ code: "timeout" }), options.timeout);
    this.sockets.add(destroy);
    socket.once("connect", () => {
      clearTimeout(deadline);
      if (!done) handlers.onConnect();
    });
    socket.on("data", (bytes: Buffer) => {
      if (!done) handlers.onData(bytes);
    });
    socket.on("drain", () => {
      if (!done) handlers.onWritable();
    });
    socket.on("end", () => fail({ code: "closed" }));
    socket.on("error", (error) => fail(netError(error)));
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    return {
      // Copied: the caller's encoder reuses its buffer, and Node keeps a reference until the bytes are sent. The
      // packets written in one turn of the event loop leave in one system call, as mqtt-packet's writeToStream
      // does for MQTT.js.
      write: (bytes) => {
        if (done) return true;
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        return socket.write(Buffer.from(bytes));
      },
      close: () => {
        if (done) return;
        finish();
        socket.end();
        socket.destroySoon();
      },
    };
  }

  resolve(name: string, callback: (address: string | undefined) => void): void {
    callback(name);
  }

  readSetting(_key: string): string | undefined {
    return undefined;
  }

  writeSetting(_key: string, _value: string | undefined): void {}

  heap() {
    const used = process.memoryUsage().heapUsed;
    return { used, peak: used, total: 0 };
  }

  /** Closes every socket and timer this host still has, so that a benchmark leaves nothing behind. */
  dispose(): void {
    for (const destroy of [...this.sockets]) destroy();
    for (const disarm of this.timers) disarm();
    this.timers.clear();
  }
}
