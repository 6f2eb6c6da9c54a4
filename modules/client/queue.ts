// Publishes made while disconnected wait here, bounded by count and by bytes. When it is full, QoS 0 gives way
// (the oldest QoS 0 message is dropped, since fresh telemetry is worth more than stale), QoS 1 and 2 are never
// dropped: a publish that does not fit is refused to its caller instead.
import type { OutMessage } from "tether/mqtt/session";

export interface QueueLimits {
  count: number;
  bytes: number;
}

/** `dropped`: a QoS 0 message that did not fit; `full`: a QoS 1 or 2 message refused. */
export type QueueResult = "queued" | "dropped" | "full";

export class OfflineQueue {
  private items: OutMessage[] = [];
  private size = 0;
  /** QoS 0 messages dropped to make room or because they did not fit. */
  dropped = 0;

  constructor(private readonly limits: QueueLimits) {}

  get length(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.size;
  }

  push(message: OutMessage): QueueResult {
    const cost = messageCost(message);
    while (!this.fits(cost)) {
      const victim = this.items.findIndex((m) => m.qos === 0);
      if (victim < 0) {
        if (message.qos > 0) return "full";
        this.dropped++;
        return "dropped";
      }
      this.size -= messageCost(this.items[victim]);
      this.items.splice(victim, 1);
      this.dropped++;
    }
    this.items.push(message);
    this.size += cost;
    return "queued";
  }

  /** Takes everything, oldest first. */
  drain(): OutMessage[] {
    const items = this.items;
    this.items = [];
    this.size = 0;
    return items;
  }

  private fits(cost: number): boolean {
    return this.items.length < this.limits.count && this.size + cost <= this.limits.bytes;
  }
}

// What a message holds on to: payload and topic (one byte per character is close enough for budgeting).
function messageCost(message: OutMessage): number {
  return message.payload.length + message.topic.length;
}
