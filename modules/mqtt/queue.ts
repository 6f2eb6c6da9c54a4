// The messages waiting behind the in-flight window (or for a connection), bounded by count and by bytes at all
// times. When it is full, QoS 0 gives way (the oldest QoS 0 message is dropped, since fresh telemetry is worth more
// than stale); QoS 1 and 2 are never dropped: a publish that does not fit is refused to its caller instead.
// Every operation is O(1) amortized: a burst of thousands of publishes costs linear time, not quadratic.
import type { QoS } from "tether/mqtt/packets";

/** What the queue needs of a message. */
export interface Queued {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
}

export interface QueueLimits {
  count: number;
  bytes: number;
}

/** `dropped`: a QoS 0 message that did not fit; `full`: a QoS 1 or 2 message refused. */
export type QueueResult = "queued" | "dropped" | "full";

/** Holes (dropped or taken messages) tolerated at the front before the array is compacted. */
const SLACK = 32;

export class MessageQueue<T extends Queued> {
  // items[head..] in order; `undefined` marks a QoS 0 message dropped from the middle. The array is compacted
  // when its holes outnumber the messages, so each message is moved O(1) times.
  #items: (T | undefined)[] = [];
  #head = 0;
  #count = 0;
  #size = 0;
  /** No QoS 0 message sits before items[zeroScan]: the search for the oldest one resumes there. */
  #zeroScan = 0;
  readonly #limits: QueueLimits;
  /** QoS 0 messages dropped to make room or because they did not fit. */
  dropped = 0;

  constructor(limits: QueueLimits) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#size;
  }

  push(message: T): QueueResult {
    const cost = messageCost(message);
    while (!this.fits(cost)) {
      const victim = this.oldestZero();
      if (victim < 0) {
        if (message.qos > 0) return "full";
        this.dropped++;
        return "dropped";
      }
      this.remove(victim);
      this.compact();
      this.dropped++;
    }
    this.#items.push(message);
    this.#count++;
    this.#size += cost;
    return "queued";
  }

  /**
   * Puts messages back in front, in their order, whatever the limits: they were taken already (spec 4.6), or
   * accepted before a reboot and read back from the store.
   */
  requeue(messages: T[]): void {
    if (messages.length === 0) return;
    const rest = this.#items.slice(this.#head);
    this.#items = (messages as (T | undefined)[]).concat(rest);
    // The requeued messages come from flights or the store: QoS 1 and 2 only, so the scan may skip them.
    this.#zeroScan = Math.max(0, this.#zeroScan - this.#head) + messages.length;
    this.#head = 0;
    for (const m of messages) this.#size += messageCost(m);
    this.#count += messages.length;
  }

  /** The oldest message, left in place. */
  first(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) this.#head++;
    return items[this.#head];
  }

  /** Removes the oldest message (the one first() returned). */
  shift(): void {
    if (this.first() === undefined) return;
    this.remove(this.#head);
    this.#head++;
    this.compact();
  }

  clear(): void {
    this.#items = [];
    this.#head = this.#count = this.#size = this.#zeroScan = 0;
  }

  private fits(cost: number): boolean {
    return this.#count < this.#limits.count && this.#size + cost <= this.#limits.bytes;
  }

  private oldestZero(): number {
    const items = this.#items;
    let i = Math.max(this.#zeroScan, this.#head);
    while (i < items.length && (items[i] === undefined || items[i]!.qos !== 0)) i++;
    this.#zeroScan = i;
    return i < items.length ? i : -1;
  }

  private remove(index: number): void {
    this.#size -= messageCost(this.#items[index]!);
    this.#items[index] = undefined;
    this.#count--;
  }

  private compact(): void {
    const items = this.#items;
    if (items.length - this.#count < SLACK + this.#count) return;
    const kept: (T | undefined)[] = [];
    for (let i = this.#head; i < items.length; i++) if (items[i] !== undefined) kept.push(items[i]);
    this.#items = kept;
    this.#head = 0;
    this.#zeroScan = 0;
  }
}

// What a message holds on to: payload and topic (one byte per character is close enough for budgeting).
function messageCost(message: Queued): number {
  return message.payload.length + message.topic.length;
}
