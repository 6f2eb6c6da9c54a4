// The result model of the benchmark run: every figure is a median with its min and max over repetitions.

export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** One measure: the same quantity for each subject (Tether on Node, MQTT.js, ...). */
export interface Row {
  section: string;
  name: string;
  unit: string;
  /** Whether a larger number is better (rates) or worse (times, bytes). */
  higherIsBetter: boolean;
  /** By subject; the first is Tether, the one the ratios are about. */
  values: [subject: string, stat: Stat][];
  goal?: Goal;
  note?: string;
}

export interface Goal {
  text: string;
  met: boolean;
}

export function stat(samples: number[]): Stat {
  if (samples.length === 0) throw new Error("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** One subject's measurement: each call is one run, giving one sample. */
export type Measure = () => Promise<number> | number;

/**
 * Runs every subject once as a warm-up (discarded: first runs pay for compilation, caches and connections), then
 * `reps` rounds in which every subject runs once, the order rotated by one each round, so that what drifts while
 * the bench runs (the other processes on this machine, CPU frequency, garbage) falls on all subjects alike instead
 * of on whichever ran its block at a bad moment. One Stat per subject, in the order given.
 */
export async function alternate(reps: number, measures: Measure[]): Promise<Stat[]> {
  for (const measure of measures) await measure();
  const samples = measures.map((): number[] => []);
  for (let round = 0; round < reps; round++) {
    for (let k = 0; k < measures.length; k++) {
      const which = (round + k) % measures.length;
      samples[which].push(await measures[which]());
    }
  }
  return samples.map(stat);
}

/** Tether's median over the peer's, oriented so that above 1 means Tether is better. */
export function advantage(row: Row, peer: string): number | undefined {
  const mine = row.values[0]?.[1].median;
  const theirs = row.values.find(([subject]) => subject === peer)?.[1].median;
  if (mine === undefined || theirs === undefined || mine === 0 || theirs === 0) return undefined;
  return row.higherIsBetter ? mine / theirs : theirs / mine;
}

/** Resolves with `promise`, or rejects after `ms` with `what` in the message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
