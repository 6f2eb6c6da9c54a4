// The firmware's view of the host's key-value storage (Preference, NVS on an ESP32): every read and write of the
// settings, the history, the session state and the keep-alive tuner goes through one Store, which
// - keeps a flash budget: at most `budget` writes an hour (a token bucket that holds an hour's worth); a write past
//   it is refused with a RangeError, which every writer already takes as a store that refuses (the history loses
//   the event, the session keeps the flight in RAM). Deletions are never refused: a stale value left behind (a
//   completed message) would do harm after a reboot, and NVS deletes without taking new space.
// - reads defensively: a value the host cannot read (Preference holds a number where a string belongs) or that its
//   reader cannot parse (Storage.rejected) is named once, `E app storage_error name=<key> why=...`, and removed, so
//   the device boots with what remains.
//
// Wear: NVS writes a string value as one 32-byte entry plus one per 32 bytes of it, into 4 KB pages of 126 entries,
// and erases a page when it has filled; its partition (24 KB, 6 pages, on Moddable's ESP32 builds) is used in turn,
// so each page is erased once per 756 entries written, and flash endures about 100,000 erases. A device writing
// values of 64 bytes (3 entries) at its whole budget of B writes an hour wears a page out in
// 100000 * 756 / (3 * B) hours: 24 years at the default 120 an hour. wearYears() says it for the budget set.

import { Bucket } from "tether/diag/bucket";
import type { Storage } from "tether/diag/history";
import type { Logger } from "tether/diag/log";
import type { Host } from "tether/host";

/** Writes an hour, by default. */
export const FLASH_BUDGET = 120;
const HOUR = 3600000;
/** NVS: entries in the default partition (6 pages of 126), entries per typical value, erases a page endures. */
const NVS_ENTRIES = 756;
const ENTRIES_PER_WRITE = 3;
const ERASES = 100000;

/** Years until NVS pages reach their rated erases, for a device that writes its whole budget every hour. */
export function wearYears(budget: number): number {
  if (budget <= 0) return Number.POSITIVE_INFINITY;
  return Math.round((ERASES * NVS_ENTRIES) / (ENTRIES_PER_WRITE * budget) / (24 * 365));
}

/** The flash budget's figures since boot, for `stats`. */
export interface FlashCounts {
  /** Writes an hour (0: no limit). */
  budget: number;
  writes: number;
  deletes: number;
  /** Writes refused because the budget was spent. */
  refused: number;
  /** Stored values that could not be read or parsed, named and removed. */
  rejected: number;
}

export class Store implements Storage {
  /** Writes an hour (0: no limit); set once the settings are read (they are read through the store). */
  readonly bucket: Bucket;
  private readonly host: Pick<Host, "readSetting" | "writeSetting" | "now">;
  private readonly log: Logger;
  // Counts for `stats`: fields of the store rather than an object of their own (one object less in the heap).
  private writes = 0;
  private deletes = 0;
  private refused = 0;
  private rejections = 0;
  /** Keys named already (made with the first). */
  private named: string[] | undefined;

  constructor(host: Pick<Host, "readSetting" | "writeSetting" | "now">, log: Logger, budget = FLASH_BUDGET) {
    this.host = host;
    this.log = log;
    this.bucket = new Bucket(budget, HOUR);
  }

  readSetting(key: string): string | undefined {
    try {
      const value = this.host.readSetting(key);
      if (value === undefined || typeof value === "string") return value;
      this.rejected(key, `not a string but ${typeof value}`);
    } catch (error) {
      this.rejected(key, error instanceof Error ? error.message : String(error));
    }
    return undefined;
  }

  /** Saves `value` (undefined deletes it); throws a RangeError when the budget is spent or the host refuses. */
  writeSetting(key: string, value: string | undefined): void {
    if (value === undefined) {
      this.deletes++;
      this.host.writeSetting(key, undefined);
      return;
    }
    if (!this.bucket.take(this.host.now())) {
      this.refused++;
      throw new RangeError(`flash budget spent (${this.bucket.rate} writes an hour): ${key} not saved`);
    }
    this.writes++;
    this.host.writeSetting(key, value);
  }

  /** A stored value under `key` cannot be used (`why`): named once, removed. */
  rejected(key: string, why: string): void {
    if (this.named === undefined) this.named = [];
    const named = this.named;
    if (named.includes(key)) return;
    // Bounded: a storage full of bad values is named value by value, but the list stops growing.
    if (named.length < 64) named.push(key);
    this.rejections++;
    this.log.error("app", "storage_error", { name: key, why, fix: "dropped; the device goes on without it" });
    try {
      this.host.writeSetting(key, undefined);
    } catch {}
  }

  /** The figures for `stats`. */
  figures(): FlashCounts {
    const { writes, deletes, refused } = this;
    return { budget: this.bucket.rate, writes, deletes, refused, rejected: this.rejections };
  }
}
