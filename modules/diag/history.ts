// The last significant events (connects, failures, reboots), kept in the device's key-value storage so that
// they survive a reboot or a crash: after one, `history` still shows what led to it.
//
// Storage layout, one event per key so that recording an event is one small write:
//   `<prefix>.b`       `<boot counter> <capacity>`, written once per boot;
//   `<prefix>.<slot>`  `<seq> <boot> <uptime ms> <code> <detail>`, in slot seq % capacity.
// The newest event is the highest seq, so no head index needs writing. ESP32 Preference limits keys to 15
// characters (so the prefix to 11 minus the digits of the slot) and values to about 4000 bytes; codes are capped
// at 32 and details at 96 characters, so a slot stays under 200 bytes.

import type { Host } from "tether/host";

/** The host's persistent key-value store: the Host itself, so that no adapter object lives on the heap. */
export type Storage = Pick<Host, "readSetting" | "writeSetting">;

export interface HistoryEvent {
  /** Increases by one per event, across boots. */
  seq: number;
  /** The boot the event happened in. */
  boot: number;
  /** Uptime in ms within that boot. */
  time: number;
  code: string;
  detail: string;
}

export const MAX_CODE = 32;
export const MAX_DETAIL = 96;

export class History {
  /** This boot's number: 1 on the first boot, counted in storage. */
  readonly boot: number;
  private readonly storage: Storage;
  private readonly prefix: string;
  /** Event seq lives in slot seq % capacity. Only storage holds the events: the heap keeps no copy of them. */
  private readonly capacity: number;
  private nextSeq = 0;

  /** Finds where the sequence continues and counts this boot (one storage write). */
  constructor(storage: Storage, capacity = 64, prefix = "hist") {
    this.storage = storage;
    this.prefix = prefix;
    this.capacity = capacity;
    const [boot, stored] = (storage.readSetting(`${prefix}.b`) ?? "").split(" ").map(Number);
    this.boot = (boot || 0) + 1;
    // The boot counter key also remembers the capacity, so that a firmware with another one finds every slot.
    const previous = stored || capacity;
    storage.writeSetting(`${prefix}.b`, `${this.boot} ${capacity}`);
    const events = this.read(Math.max(previous, capacity));
    for (const e of events) this.nextSeq = Math.max(this.nextSeq, e.seq + 1);
    if (previous === capacity) return;
    // With another capacity, events moved slots: store the newest of each where it now is, once, at the first
    // boot after; slots past the capacity are deleted.
    const slots: (HistoryEvent | undefined)[] = new Array(Math.max(previous, capacity)).fill(undefined);
    for (const e of events) {
      const slot = e.seq % capacity;
      if ((slots[slot]?.seq ?? -1) < e.seq) slots[slot] = e;
    }
    for (let i = 0; i < slots.length; i++) this.write(i, slots[i]);
  }

  /** Records an event at uptime `time`: `code` is a word (a failure code, `connected`, `boot`), detail free text. */
  add(time: number, code: string, detail = ""): void {
    const seq = this.nextSeq++;
    this.write(seq % this.capacity, {
      seq,
      boot: this.boot,
      time: Math.floor(time),
      code: code.replace(/\s/g, "_").slice(0, MAX_CODE) || "_",
      detail: detail.replace(/[\r\n]+/g, " ").slice(0, MAX_DETAIL),
    });
  }

  /** Writes slot `i`; undefined deletes it. */
  private write(i: number, e: HistoryEvent | undefined): void {
    this.storage.writeSetting(`${this.prefix}.${i}`, e && `${e.seq} ${e.boot} ${e.time} ${e.code} ${e.detail}`);
  }

  /** The valid events in slots 0 to count - 1, in slot order; corrupt slots are skipped. */
  private read(count: number): HistoryEvent[] {
    const events: HistoryEvent[] = [];
    // Made here, not at module level: no regular expression is preloaded (they were the suspects of start-up crashes).
    const slot = /^(\d+) (\d+) (\d+) (\S+) ?(.*)$/s;
    for (let i = 0; i < count; i++) {
      const match = slot.exec(this.storage.readSetting(`${this.prefix}.${i}`) ?? "");
      if (match) events.push({ seq: +match[1], boot: +match[2], time: +match[3], code: match[4], detail: match[5] });
    }
    return events;
  }

  /** The events kept, oldest first, read from storage. */
  events(): HistoryEvent[] {
    return this.read(this.capacity).sort((a, b) => a.seq - b.seq);
  }

  /** Forgets every event, in storage too. */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) {
      if (this.storage.readSetting(`${this.prefix}.${i}`) !== undefined) this.write(i, undefined);
    }
    this.nextSeq = 0;
  }

  /**
   * The `history` command's output: a header, then one line per event, oldest first:
   * `<this|prev> b<boot> <uptime ms> <code> <detail>`, where `prev` marks an event from before the last reboot.
   */
  format(): string[] {
    const events = this.events();
    const lines = [`history events=${events.length} boot=${this.boot} (prev = before the last reboot)`];
    for (const e of events) {
      const line = `${e.boot === this.boot ? "this" : "prev"} b${e.boot} ${e.time} ${e.code}`;
      lines.push(e.detail ? `${line} ${e.detail}` : line);
    }
    return lines;
  }
}
