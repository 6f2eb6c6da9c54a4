// The clock, timers and socket that the fake SDK modules beside this file share, for Moddable's own `mqtt` module
// running in xsnap (bench/xs/moddable-meter.ts). Time stands still until advance() moves it, as on ManualHost
// (bench/xs/manual-host.ts), so that both clients are counted on the same schedule.

export interface FakeTimer {
  due: number;
  /** The repeat interval, ms; -1 for a one-shot timer. */
  interval: number;
  callback: (timer: FakeTimer) => void;
}

/** What Moddable's module calls on its socket, and what the meter calls back. */
export interface FakeSocket {
  callback?: (message: number, value?: number) => void;
  /** Bytes written so far. */
  written: number;
  /** The bytes the next read() returns. */
  pending: ArrayBuffer | undefined;
}

export const loop = {
  now: 0,
  timers: [] as FakeTimer[],
  socket: undefined as FakeSocket | undefined,
};

/** Moves the clock `ms` on and calls the timers that are due, each once, in order of creation. */
export function advance(ms: number): void {
  loop.now += ms;
  for (let i = 0; i < loop.timers.length; i++) {
    const timer = loop.timers[i]!;
    if (timer.due > loop.now) continue;
    if (timer.interval < 0) loop.timers.splice(i--, 1);
    else timer.due = loop.now + timer.interval;
    timer.callback(timer);
  }
}
