// Host.timer on Moddable: every timer of the firmware and of the sockets shares one Moddable timer, armed again with
// Timer.schedule at the earliest deadline. Each Timer.set allocates on the device, and on the desktop simulator
// (lin) timer ids are 16 bits: the timer created after 65,535 others never fires. One timer, made once, has
// neither problem.
//
// The Moddable timer always repeats at the interval it was last given, and is unscheduled when nothing is due:
// on lin a one-shot timer rescheduled from its own callback is freed all the same, on ESP32 it is kept either way.
import { print } from "hosts/moddable/platform";
import { callTimer, type Timer, type TimerCallback } from "tether/host";
import ModdableTimer from "timer";

/** Far enough to never fire before it is scheduled again. */
const IDLE_MS = 0x7fffffff;

/**
 * One timer of a Timers. What it does when due is its `fire` method: a subclass for a timer that lives long (a
 * socket's connect timeout) keeps its method in flash, where a callback would be a closure in the heap.
 */
export abstract class Entry implements Timer {
  /** When it is due (the Timers clock), while scheduled. */
  at = 0;
  scheduled = false;

  constructor(private readonly timers: Timers) {}

  schedule(ms: number): void {
    this.timers.schedule(this, ms);
  }

  cancel(): void {
    this.timers.cancel(this);
  }

  abstract fire(): void;
}

/** Host.timer's timer: it calls a callback. */
class CallbackEntry extends Entry {
  constructor(
    timers: Timers,
    private readonly callback: TimerCallback,
  ) {
    super(timers);
  }

  fire(): void {
    callTimer(this.callback);
  }
}

export class Timers {
  private readonly clock: { now(): number };
  private readonly entries: Entry[] = [];
  private readonly moddableTimer: ModdableTimer;
  private firing = false;

  /** `clock.now()` is the device's monotonic clock in ms (an object, not a closure: no heap of its own). */
  constructor(clock: { now(): number }) {
    this.clock = clock;
    this.moddableTimer = ModdableTimer.repeat(() => this.fire(), IDLE_MS);
    ModdableTimer.schedule(this.moddableTimer);
  }

  timer(callback: TimerCallback): Timer {
    return new CallbackEntry(this, callback);
  }

  schedule(entry: Entry, ms: number): void {
    entry.at = this.clock.now() + ms;
    if (!entry.scheduled) {
      entry.scheduled = true;
      this.entries.push(entry);
    }
    this.arm();
  }

  cancel(entry: Entry): void {
    if (!entry.scheduled) return;
    entry.scheduled = false;
    const entries = this.entries;
    const i = entries.indexOf(entry);
    entries[i] = entries[entries.length - 1]!;
    entries.pop();
    this.arm();
  }

  /**
   * Calls every entry that is due, each once, then arms the timer for the next. An exception that escaped a callback
   * would abort XS (a reboot on a board): it is printed, and the other timers still run.
   */
  private fire(): void {
    this.firing = true;
    for (let entry = this.due(); entry; entry = this.due()) {
      entry.cancel();
      try {
        entry.fire();
      } catch (error) {
        print(`*** exception in a timer callback: ${error}\n`);
      }
    }
    this.firing = false;
    this.arm();
  }

  private due(): Entry | undefined {
    const now = this.clock.now();
    for (const entry of this.entries) if (entry.at <= now) return entry;
    return undefined;
  }

  private arm(): void {
    // While firing, callbacks schedule and cancel: the timer is armed once, when they are done.
    if (this.firing) return;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.entries) if (entry.at < next) next = entry.at;
    if (next === Number.POSITIVE_INFINITY) {
      ModdableTimer.schedule(this.moddableTimer);
      return;
    }
    // At least 1 ms: on lin a 0 ms timer runs at a priority above socket reads, and would starve them.
    const ms = Math.min(IDLE_MS, Math.max(1, Math.ceil(next - this.clock.now())));
    ModdableTimer.schedule(this.moddableTimer, ms, ms);
  }
}
