// Moddable's time module (modules/base/time).
declare module "time" {
  const Time: {
    /** Sets the real-time clock, in seconds since the epoch. */
    set(seconds: number): void;
    /** Milliseconds from an arbitrary origin, monotonic. */
    readonly ticks: number;
  };

  export { Time as default };
}
