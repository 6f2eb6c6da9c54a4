// The SDK's `timer` module, as much of it as Moddable's `mqtt` module uses, on the fake loop (loop.ts).
import { type FakeTimer, loop } from "./loop";

function add(callback: (timer: FakeTimer) => void, ms: number, interval: number): FakeTimer {
  const timer = { due: loop.now + ms, interval, callback };
  loop.timers.push(timer);
  return timer;
}

export default {
  set(callback: (timer: FakeTimer) => void, ms = 0): FakeTimer {
    return add(callback, ms, -1);
  },
  repeat(callback: (timer: FakeTimer) => void, ms: number): FakeTimer {
    return add(callback, ms, ms);
  },
  clear(timer: FakeTimer | undefined): void {
    const i = timer ? loop.timers.indexOf(timer) : -1;
    if (i >= 0) loop.timers.splice(i, 1);
  },
};
