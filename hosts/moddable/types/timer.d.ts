// Moddable's timer module (modules/base/timer).
declare module "timer" {
  type TimerID = number;
  const Timer: {
    set(callback: (id: TimerID) => void, interval?: number): TimerID;
    repeat(callback: (id: TimerID) => void, interval?: number): TimerID;
    clear(id: TimerID): void;
  };

  export { Timer as default };
}
