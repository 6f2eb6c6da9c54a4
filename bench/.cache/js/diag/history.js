const MAX_CODE = 32;
const MAX_DETAIL = 96;
const SLOT = /^(\d+) (\d+) (\d+) (\S+) ?(.*)$/s;
class History {
  /** This boot's number: 1 on the first boot, counted in storage. */
  boot;
  storage;
  prefix;
  /** Event seq lives in slots[seq % capacity]. */
  slots;
  nextSeq = 0;
  /** Loads what earlier boots left and counts this boot (one storage write). */
  constructor(storage, capacity = 64, prefix = "hist") {
    this.storage = storage;
    this.prefix = prefix;
    this.slots = new Array(capacity).fill(void 0);
    const [boot, stored] = (storage.read(`${prefix}.b`) ?? "").split(" ").map(Number);
    this.boot = (boot || 0) + 1;
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
    if (previous !== capacity) for (let i = 0; i < Math.max(previous, capacity); i++) this.store(i);
  }
  /** Records an event at uptime `time`: `code` is a word (a failure code, `connected`, `boot`), detail free text. */
  add(time, code, detail = "") {
    const seq = this.nextSeq++;
    this.slots[seq % this.slots.length] = {
      seq,
      boot: this.boot,
      time: Math.floor(time),
      code: code.replace(/\s/g, "_").slice(0, MAX_CODE) || "_",
      detail: detail.replace(/[\r\n]+/g, " ").slice(0, MAX_DETAIL)
    };
    this.store(seq % this.slots.length);
  }
  /** Writes slot `i` (which may be past the capacity: then it is deleted) from memory to storage. */
  store(i) {
    const e = this.slots[i];
    this.storage.write(`${this.prefix}.${i}`, e && `${e.seq} ${e.boot} ${e.time} ${e.code} ${e.detail}`);
  }
  /** The events kept, oldest first. */
  events() {
    const events = this.slots.filter((event) => event !== void 0);
    return events.sort((a, b) => a.seq - b.seq);
  }
  /** Forgets every event, in storage too. */
  clear() {
    for (let i = 0; i < this.slots.length; i++) {
      const stored = this.slots[i];
      this.slots[i] = void 0;
      if (stored) this.store(i);
    }
    this.nextSeq = 0;
  }
  /**
   * The `history` command's output: a header, then one line per event, oldest first:
   * `<this|prev> b<boot> <uptime ms> <code> <detail>`, where `prev` marks an event from before the last reboot.
   */
  format() {
    const events = this.events();
    const lines = [`history events=${events.length} boot=${this.boot} (prev = before the last reboot)`];
    for (const e of events) {
      const line = `${e.boot === this.boot ? "this" : "prev"} b${e.boot} ${e.time} ${e.code}`;
      lines.push(e.detail ? `${line} ${e.detail}` : line);
    }
    return lines;
  }
}
export {
  History,
  MAX_CODE,
  MAX_DETAIL
};
