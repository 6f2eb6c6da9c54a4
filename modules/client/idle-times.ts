// What the keep-alive tuner and the diagnoser share about connections that die idle: the tuner's settings and
// defaults, and how lists of times compare (shortest, longest, alike). A module of its own, so that the drop-in,
// whose diagnoser reads them, carries no tuner (the firmware's).

export interface TunerConfig {
  /** The configured keep alive, s: never exceeded. 0 disables keep alive and so the tuning. */
  keepAlive: number;
  /** The lowest keep alive the tuner sets, s (unless the configured one is lower). */
  min: number;
  /** The new keep alive as a fraction of the shortest similar idle time, in (0, 1). */
  factor: number;
  /** How many similar idle deaths in a row it takes to act. */
  samples: number;
  /** How far apart similar idle times may be: the longest is at most (1 + tolerance) times the shortest. */
  tolerance: number;
  /** Connected time without an idle death after which the keep alive is raised one step, ms. */
  raiseAfter: number;
}

export const TUNER_DEFAULTS: Readonly<Omit<TunerConfig, "keepAlive">> = Object.freeze({
  min: 15,
  factor: 0.7,
  samples: 3,
  tolerance: 0.2,
  raiseAfter: 6 * 3600000,
});

/** The least of `times` (Infinity for none); a loop, not Math.min(...times), whose stack grows with the list. */
export function shortest(times: readonly number[]): number {
  let least = Number.POSITIVE_INFINITY;
  for (const t of times) if (t < least) least = t;
  return least;
}

/**
 * Whether times are alike: the longest is at most (1 + tolerance) times the shortest, plus `slack` ms (what a late
 * event loop may add to the times it reads). Also what the diagnostics call regular (the same uptime or idle time,
 * connection after connection).
 */
export function similar(times: readonly number[], tolerance: number, slack = 0): boolean {
  return times.length > 0 && longest(times) <= shortest(times) * (1 + tolerance) + slack;
}

/** The greatest of `times` (0 for none). */
export function longest(times: readonly number[]): number {
  let most = 0;
  for (const t of times) if (t > most) most = t;
  return most;
}
