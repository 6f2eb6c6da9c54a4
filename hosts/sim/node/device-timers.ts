// The simulated device's timers, kept as a board keeps them: one list ordered by deadline, one host timer for the
// earliest.
//
// Deadlines count from the start of the command that set them, not from when each request reached Node. A board
// runs a command in microseconds, but here every request of it crosses a pipe and Node's event loop turns in
// between: on a loaded machine timers set 5 ms apart in one command would be armed far more than 5 ms apart, and
// fire out of order.

import { armTimer } from "./timer";

interface Entry {
  id: number;
  due: number;
}

export class DeviceTimers {
  /** Armed timers, earliest deadline first; of equal deadlines, the one set first. */
  private readonly queue: Entry[] = [];
  /** When the command in flight set its first timer; undefined between commands. */
  private base: number | undefined;
  /** The host timer armed for the head of the queue, and how to cancel it. */
  private armedFor: Entry | undefined;
  private disarm: (() => void) | undefined;

  /** `fire` hands a due timer's id to the firmware; `clock` reads milliseconds. */
  constructor(
    private readonly fire: (id: number) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Arms timer `id` for `ms` after the start of the command in flight. */
  set(id: number, ms: number): void {
    this.clear(id);
    this.base ??= this.clock();
    const entry = { id, due: this.base + Math.max(0, ms) };
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1].due > entry.due) at--;
    this.queue.splice(at, 0, entry);
  }

  clear(id: number): void {
    const at = this.queue.findIndex((entry) => entry.id === id);
    if (at >= 0) this.queue.splice(at, 1);
  }

  /**
   * The command in flight has ended: the host timer goes to the earliest deadline. Only here (and after a timer
   * fires, which is a command too), so a 0 ms timer runs on the next turn once its command is over, as on a board.
   */
  endTurn(): void {
    this.base = undefined;
    const head = this.queue[0];
    if (head === this.armedFor) return;
    this.disarm?.();
    this.armedFor = head;
    this.disarm = head && armTimer(() => this.wake(head), head.due - this.clock());
  }

  /** Stops every timer: the device is gone. */
  halt(): void {
    this.queue.length = 0;
    this.disarm?.();
    this.armedFor = this.disarm = undefined;
  }

  private wake(head: Entry): void {
    this.armedFor = this.disarm = undefined;
    if (this.queue[0] !== head) return;
    this.queue.shift();
    this.fire(head.id);
  }
}
