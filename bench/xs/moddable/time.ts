// The SDK's `time` module, as much of it as Moddable's `mqtt` module uses, on the fake loop (loop.ts).
import { loop } from "./loop";

export default {
  get ticks(): number {
    return loop.now;
  },
  delta(from: number, to: number): number {
    return to - from;
  },
};
