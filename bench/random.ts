// Randomness per device for the Node host and the fleet tool: each device its own generator (xoshiro128**, 128
// bits of state), so that devices never share a sequence, as on boards where every chip seeds its own.
import { randomBytes } from "node:crypto";

/** A generator of numbers in [0, 1) from a 128-bit state (four 32-bit words, not all zero). */
export function generator(seed: Uint32Array): () => number {
  let a = seed[0]! | 0;
  let b = seed[1]! | 0;
  let c = seed[2]! | 0;
  let d = seed[3]! | 0;
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 2 ** 32;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** 128 bits from the operating system's generator. */
export function cryptoSeed(): Uint32Array {
  return new Uint32Array(randomBytes(16).buffer.slice(0, 16));
}

/** A bijection on 32-bit integers (the finaliser of MurmurHash3): distinct inputs give distinct outputs. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The seed of device `index` in a run seeded `run`: the first word is a bijection of the index, so two devices of
 * one run (up to 2^32 of them) never share a seed; the other words carry the run's randomness.
 */
export function deviceSeed(run: Uint32Array, index: number): Uint32Array {
  return Uint32Array.of(mix32(run[0]! + index), mix32(run[1]! ^ index), mix32(run[2]! + 0x9e3779b9 * index), run[3]!);
}
