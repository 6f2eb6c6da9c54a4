class OfflineQueue {
  constructor(limits) {
    this.limits = limits;
  }
  limits;
  items = [];
  size = 0;
  /** QoS 0 messages dropped to make room or because they did not fit. */
  dropped = 0;
  get length() {
    return this.items.length;
  }
  get bytes() {
    return this.size;
  }
  push(message) {
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
  drain() {
    const items = this.items;
    this.items = [];
    this.size = 0;
    return items;
  }
  fits(cost) {
    return this.items.length < this.limits.count && this.size + cost <= this.limits.bytes;
  }
}
function messageCost(message) {
  return message.payload.length + message.topic.length;
}
export {
  OfflineQueue
};
