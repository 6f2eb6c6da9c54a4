// The last significant events (connects, failures, reboots), kept in the device's key-value storage so that
// they survive a reboot or a crash: after one, `history` still shows what led to it.
//
// Storage layout, one event per key so that recording an event is one small write:
//   `<prefix>.b`       `<boot counter> <capacity>`, written once per boot;
//   `<prefix>.<slot>`  `<seq> <boot> <uptime ms>[-<last uptime ms>x<count>] <code> <detail>`, in slot seq % capacity.
// The newest event is the highest seq, so no head index needs writing. ESP32 Preference limits keys to 15
// characters (so the prefix to 11 minus the digits of the slot) and values to about 4000 bytes; codes are capped
// at 32 and details at 96 characters, so a slot stays under 200 bytes.
//
// Budget: the history is the only record a field engineer gets, and 64 events are quickly pushed out by a loop.
// - An event equal to the newest one (same code and detail, same boot) is not a new entry: the newest counts it,
//   with the uptime of the first and of the last copy (`bad_credentials x32`). Its slot is rewritten with the new
//   count when another event comes, or a minute after it was last written (REWRITE): a failure loop costs one
//   flash write a minute, and a reset loses a minute's count at most.
// - New entries are taken from a budget of `budget` an hour (a token bucket that holds an hour's worth): past it,
//   events are counted, not stored, and the count is stored as one `held_back` entry once the budget allows. So
//   nothing, however fast it fails, pushes older events out faster than the budget.
//
// Stored values are read defensively: a slot or a boot counter that does not parse is named once through
// Storage.rejected (the firmware logs `E app storage_error name=...`) and removed; boot reads at most MAX_CAPACITY
// slots, whatever the boot counter says.

import { Bucket } from "tether/diag/bucket";
import type { Host } from "tether/host";

/**
 * The host's persistent key-value store: the Host itself, so that no adapter object lives on the heap, or the
 * firmware's store over it (diag/storage), which also hears of values that do not parse.
 */
export type Storage = Pick<Host, "readSetting" | "writeSetting"> & {
  /** A stored value under `key` does not parse (`why`): it is named once and removed. */
  rejected?(key: string, why: string): void;
};

export interface HistoryEvent {
  /** Increases by one per event, across boots. */
  seq: number;
  /** The boot the event happened in. */
  boot: number;
  /** Uptime in ms within that boot (of the first copy, for an event that repeated). */
  time: number;
  code: string;
  detail: string;
  /** Copies of the event this entry stands for (1: it did not repeat), and the uptime of the last one. */
  count: number;
  last: number;
}

export const MAX_CODE = 32;
export const MAX_DETAIL = 96;
/** Most slots a history has, and reads at boot whatever its storage says: boot time does not depend on it. */
export const MAX_CAPACITY = 256;
/** New entries an hour, by default. */
export const HISTORY_BUDGET = 16;
/** An entry that keeps repeating is rewritten with its count at most this often, ms. */
export const REWRITE = 60000;
/** The code of the entry that counts events held back by the budget. */
export const HELD_BACK = "held_back";
const HOUR = 3600000;
/** Sequence numbers and boot counters beyond this are not ones the device wrote. */
const NUMBER_MAX = 2 ** 40;

export interface HistoryCounts {
  /** New entries an hour (0: no limit). */
  budget: number;
  /** Entries written, repeats counted into the newest entry, and events held back by the budget, this boot. */
  written: number;
  repeats: number;
  held: number;
}

export class History {
  /** This boot's number: 1 on the first boot, counted in storage. */
  readonly boot: number;
  private readonly storage: Storage;
  private readonly prefix: string;
  /** Event seq lives in slot seq % capacity. Only storage holds the events: the heap keeps the newest alone. */
  private readonly capacity: number;
  private nextSeq = 0;
  /** The newest entry of this boot, which a repeat counts into; `dirty` while its count is not stored. */
  private newest: HistoryEvent | undefined;
  private dirty = false;
  private writtenAt = 0;
  private readonly bucket: Bucket;
  /** Events held back since the last held_back entry: how many, and the uptime of the first and last. */
  private heldCount = 0;
  private heldFirst = 0;
  private heldLast = 0;
  // Counts for `stats`: fields of the history rather than an object of their own (one object less in the heap).
  private readonly budget: number;
  private written = 0;
  private repeats = 0;
  private held = 0;

  /** Finds where the sequence continues and counts this boot (one storage write). `budget`: entries an hour. */
  constructor(storage: Storage, capacity = 64, prefix = "hist", budget = HISTORY_BUDGET) {
    this.storage = storage;
    this.prefix = prefix;
    this.capacity = Math.min(Math.max(1, capacity), MAX_CAPACITY);
    this.bucket = new Bucket(budget, HOUR);
    this.budget = budget;
    const key = `${prefix}.b`;
    const text = this.readKey(key);
    const counter = /^(\d{1,12}) (\d{1,12})$/.exec(text ?? "");
    let boot = 0;
    let previous = this.capacity;
    if (counter && +counter[2] >= 1 && +counter[2] <= MAX_CAPACITY) {
      boot = +counter[1];
      // The boot counter key also remembers the capacity, so that a firmware with another one finds every slot.
      previous = +counter[2];
    } else if (text !== undefined) this.reject(key, "not <boot> <capacity> with a capacity of 1 to 256");
    const events = this.read(Math.max(previous, this.capacity));
    for (const e of events) {
      this.nextSeq = Math.max(this.nextSeq, e.seq + 1);
      // Without a counter (it was lost), the boots the events name go on being counted.
      boot = Math.max(boot, e.boot);
    }
    this.boot = boot + 1;
    this.write(key, `${this.boot} ${this.capacity}`);
    if (previous === this.capacity) return;
    // With another capacity, events moved slots: store the newest of each where it now is, once, at the first
    // boot after; slots past the capacity are deleted.
    const slots: (HistoryEvent | undefined)[] = new Array(Math.max(previous, this.capacity)).fill(undefined);
    for (const e of events) {
      const slot = e.seq % this.capacity;
      if ((slots[slot]?.seq ?? -1) < e.seq) slots[slot] = e;
    }
    for (let i = 0; i < slots.length; i++) this.store(i, slots[i]);
  }

  /** Records an event at uptime `time`: `code` is a word (a failure code, `connected`, `boot`), detail free text. */
  add(time: number, code: string, detail = ""): void {
    time = Math.floor(time);
    code = code.replace(/\s/g, "_").slice(0, MAX_CODE) || "_";
    detail = detail.replace(/[\r\n]+/g, " ").slice(0, MAX_DETAIL);
    const newest = this.newest;
    if (newest && newest.code === code && newest.detail === detail) {
      newest.count++;
      newest.last = time;
      this.repeats++;
      this.dirty = true;
      if (time - this.writtenAt >= REWRITE) this.rewrite(time);
      return;
    }
    this.release(time);
    if (!this.bucket.take(time)) {
      this.held++;
      if (this.heldCount++ === 0) this.heldFirst = time;
      this.heldLast = time;
      return;
    }
    this.rewrite(time);
    this.make(time, code, detail, 1, time);
  }

  /** Call now and then: stores a repeating entry's count once REWRITE has passed, and what the budget held back. */
  tick(now: number): void {
    this.release(now);
    if (this.dirty && now - this.writtenAt >= REWRITE) this.rewrite(now);
  }

  /** The budget's figures, for `stats`. */
  figures(): HistoryCounts {
    const { budget, written, repeats, held } = this;
    return { budget, written, repeats, held };
  }

  /** Stores the count of events held back as one entry, when there are some and the budget allows. */
  private release(now: number): void {
    if (this.heldCount === 0 || !this.bucket.take(now)) return;
    this.rewrite(now);
    this.make(now, HELD_BACK, "events past the history budget", this.heldCount, this.heldLast, this.heldFirst);
    this.heldCount = 0;
  }

  /** Writes the newest entry's count if it changed. */
  private rewrite(now: number): void {
    if (!this.dirty || !this.newest) return;
    this.dirty = false;
    this.writtenAt = now;
    this.store(this.newest.seq % this.capacity, this.newest);
  }

  /** A new entry (its token taken from the budget already). */
  private make(now: number, code: string, detail: string, count: number, last: number, time = now): void {
    const seq = this.nextSeq++;
    this.newest = { seq, boot: this.boot, time, code, detail, count, last };
    this.dirty = false;
    this.writtenAt = now;
    this.written++;
    this.store(seq % this.capacity, this.newest);
  }

  /** Writes slot `i`; undefined deletes it. */
  private store(i: number, e: HistoryEvent | undefined): void {
    const times = e && (e.count > 1 ? `${e.time}-${e.last}x${e.count}` : `${e.time}`);
    this.write(`${this.prefix}.${i}`, e && `${e.seq} ${e.boot} ${times} ${e.code} ${e.detail}`);
  }

  /** A storage write that cannot stop the caller: a store that refuses (full, over its budget) loses the event. */
  private write(key: string, value: string | undefined): void {
    try {
      this.storage.writeSetting(key, value);
    } catch {}
  }

  /** A storage read that cannot stop the caller: a value the host cannot read is rejected. */
  private readKey(key: string): string | undefined {
    try {
      return this.storage.readSetting(key);
    } catch (error) {
      this.reject(key, error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }

  private reject(key: string, why: string): void {
    if (this.storage.rejected) this.storage.rejected(key, why);
    else this.write(key, undefined);
  }

  /** The valid events in slots 0 to count - 1, in slot order; a slot that does not parse is rejected. */
  private read(count: number): HistoryEvent[] {
    const events: HistoryEvent[] = [];
    // Made here, not at module level: no regular expression is preloaded (they were the suspects of start-up crashes).
    const slot = /^(\d{1,13}) (\d{1,13}) (\d{1,16})(?:-(\d{1,16})x(\d{1,12}))? (\S+) ?(.*)$/s;
    for (let i = 0; i < count; i++) {
      const key = `${this.prefix}.${i}`;
      const text = this.readKey(key);
      if (text === undefined) continue;
      const match = slot.exec(text);
      if (!match || +match[1] > NUMBER_MAX || +match[2] > NUMBER_MAX || match[6].length > MAX_CODE) {
        this.reject(key, "not a history event");
        continue;
      }
      const time = +match[3];
      const count = match[5] === undefined ? 1 : Math.max(1, +match[5]);
      events.push({
        seq: +match[1],
        boot: +match[2],
        time,
        code: match[6],
        detail: match[7].slice(0, MAX_DETAIL),
        count,
        last: match[4] === undefined ? time : +match[4],
      });
    }
    return events;
  }

  /** The events kept, oldest first, read from storage; the newest with the count it has now, stored or not. */
  events(): HistoryEvent[] {
    const events = this.read(this.capacity).sort((a, b) => a.seq - b.seq);
    const newest = this.newest;
    const last = events[events.length - 1];
    if (newest && last?.seq === newest.seq) events[events.length - 1] = { ...newest };
    if (this.heldCount) {
      events.push({
        seq: this.nextSeq,
        boot: this.boot,
        time: this.heldFirst,
        code: HELD_BACK,
        detail: "events past the history budget (not stored yet)",
        count: this.heldCount,
        last: this.heldLast,
      });
    }
    return events;
  }

  /** Forgets every event, in storage too. */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) {
      if (this.readKey(`${this.prefix}.${i}`) !== undefined) this.store(i, undefined);
    }
    this.nextSeq = 0;
    this.newest = undefined;
    this.dirty = false;
    this.heldCount = 0;
  }

  /**
   * The `history` command's output: a header, then one line per event, oldest first:
   * `<this|prev> b<boot> <uptime ms> <code> <detail>`, where `prev` marks an event from before the last reboot. An
   * event that repeated shows the uptime of its first and last copy and how many there were:
   * `this b3 2100-61900 bad_credentials x32 broker=...`.
   */
  format(): string[] {
    const events = this.events();
    const lines = [`history events=${events.length} boot=${this.boot} (prev = before the last reboot)`];
    for (const e of events) {
      const times = e.count > 1 ? `${e.time}-${e.last}` : `${e.time}`;
      const line = `${e.boot === this.boot ? "this" : "prev"} b${e.boot} ${times} ${e.code}`;
      const repeats = e.count > 1 ? `${line} x${e.count}` : line;
      lines.push(e.detail ? `${repeats} ${e.detail}` : repeats);
    }
    return lines;
  }
}
