// The last significant events (connects, failures, reboots), kept in the device's key-value storage so that
// they survive a reboot or a crash: after one, `history` still shows what led to it.
//
// Storage layout, one event per key so that recording an event is one small write:
//   `<prefix>.b`       `<boot counter> <capacity>`, written once per boot;
//   `<prefix>.<slot>`  `<seq> <boot> <uptime ms> <code> <detail>`, in slot seq % capacity.
// The newest event is the highest seq, so no head index needs writing. ESP32 Preference limits keys to 15
// characters (so the prefix to 11 minus the digits of the slot) and values to about 4000 bytes; codes are capped
// at 32 and details at 96 characters, so a slot stays under 200 bytes.

/** The host's persistent key-value store (Host.readSetting / writeSetting); undefined deletes. */
export interface Storage {
  read(key: string): string | undefined;
  write(key: string, value: string | undefined): void;
}

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
const SLOT = /^(\d+) (\d+) (\d+) (\S+) ?(.*)$/s;

export class History {
  /** This boot's number: 1 on the first boot, counted in storage. */
  readonly boot: number;
  private readonly storage: Storage;
  private readonly prefix: string;
  /** Event seq lives in slots[seq % capacity]. */
  private readonly slots: (HistoryEvent | undefined)[];
  private nextSeq = 0;

  /** Loads what earlier boots left and counts this boot (one storage write). */
  constructor(storage: Storage, capacity = 64, prefix = "hist") {
    this.storage = storage;
    this.prefix = prefix;
    this.slots = new Array(capacity).fill(undefined);
    const [boot, stored] = (storage.read(`${prefix}.b`) ?? "").split(" ").map(Number);
    this.boot = (boot || 0) + 1;
    // The boot counter key also remembers the capacity, so that a firmware with another one finds every slot.
    const previous = stored || capacity;
    storage.write(`${prefix}.b`, `${this.boot} ${capacity}`);
    for (let i = 0; i < Math.max(previous, capacity); i++) {
      const match = SLOT.exec(storage.read(`${prefix}.${i}`) ?? "");
      if (!match) continue;
      const event = { seq: +match[1], boot: +match[2], time: +match[3], code: match[4], detail: match[5] };
      const slot = event.seq % capacity;
      if ((this.slots[slot]?.seq ?? -1) < event.seq) this.slots[slot] = event;
      this.nextSeq = Math.max(this.nextSeq, event.seq + 1);
    }
    // With another capacity, events moved slots: store them where they now are (once, at the first boot after).
    if (previous !== capacity) for (let i = 0; i < Math.max(previous, capacity); i++) this.store(i);
  }

  /** Records an event at uptime `time`: `code` is a word (a failure code, `connected`, `boot`), detail free text. */
  add(time: number, code: string, detail = ""): void {
    const seq = this.nextSeq++;
    this.slots[seq % this.slots.length] = {
      seq,
      boot: this.boot,
      time: Math.floor(time),
      code: code.replace(/\s/g, "_").slice(0, MAX_CODE) || "_",
      detail: detail.replace(/[\r\n]+/g, " ").slice(0, MAX_DETAIL),
    };
    this.store(seq % this.slots.length);
  }

  /** Writes slot `i` (which may be past the capacity: then it is deleted) from memory to storage. */
  private store(i: number): void {
    const e = this.slots[i];
    this.storage.write(`${this.prefix}.${i}`, e && `${e.seq} ${e.boot} ${e.time} ${e.code} ${e.detail}`);
  }

  /** The events kept, oldest first. */
  events(): HistoryEvent[] {
    const events = this.slots.filter((event) => event !== undefined);
    return events.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets every event, in storage too. */
  clear(): void {
    for (let i = 0; i < this.slots.length; i++) {
      const stored = this.slots[i];
      this.slots[i] = undefined;
      if (stored) this.store(i);
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
