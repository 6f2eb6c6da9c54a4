class RttSeries {
  ring;
  /** Where snapshots sort a copy, so that they allocate no array either. */
  sorted;
  next = 0;
  count = 0;
  constructor(size = 32) {
    this.ring = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }
  add(ms) {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
  }
  /** The latest sample, or 0. */
  last() {
    return this.count ? this.ring[(this.next + this.ring.length - 1) % this.ring.length] : 0;
  }
  summary() {
    const n = this.count;
    if (n === 0) return { n, min: 0, mean: 0, max: 0, p95: 0 };
    const sorted = this.sorted.subarray(0, n);
    sorted.set(this.ring.subarray(0, n));
    sorted.sort();
    let sum2 = 0;
    for (let i = 0; i < n; i++) sum2 += sorted[i];
    return { n, min: sorted[0], mean: Math.round(sum2 / n), max: sorted[n - 1], p95: sorted[Math.ceil(n * 0.95) - 1] };
  }
}
function traffic() {
  return { messages: [0, 0, 0], bytes: [0, 0, 0] };
}
function copy(t) {
  return { messages: [...t.messages], bytes: [...t.bytes] };
}
function sum(values) {
  return values[0] + values[1] + values[2];
}
class Stats {
  attempts = 0;
  successes = 0;
  failures = 0;
  failuresByCode = /* @__PURE__ */ new Map();
  /** When the current connection started, or -1 when there is none. */
  connectedAt = -1;
  longestClosed = 0;
  ping;
  connect;
  in = traffic();
  out = traffic();
  retransmissions = 0;
  queueDepth = 0;
  queuePeak = 0;
  drops = 0;
  heapUsed = 0;
  heapPeak = 0;
  /** `window` is how many round-trip samples each series keeps. */
  constructor(window = 32) {
    this.ping = new RttSeries(window);
    this.connect = new RttSeries(window);
  }
  /** A connection attempt starts (DNS, TCP, CONNECT: all of it). */
  attempt() {
    this.attempts++;
  }
  /** CONNACK accepted; `rtt` is CONNECT to CONNACK in ms. */
  connected(now, rtt) {
    this.successes++;
    this.connect.add(rtt);
    this.connectedAt = now;
  }
  /** An attempt or a connection failed with `code`; a live connection ends here. */
  failed(now, code) {
    this.failures++;
    this.failuresByCode.set(code, (this.failuresByCode.get(code) ?? 0) + 1);
    this.closed(now);
  }
  /** The connection ended (by the device, or after failed()). */
  closed(now) {
    if (this.connectedAt >= 0) this.longestClosed = Math.max(this.longestClosed, now - this.connectedAt);
    this.connectedAt = -1;
  }
  uptime(now) {
    return this.connectedAt < 0 ? 0 : now - this.connectedAt;
  }
  longest(now) {
    return Math.max(this.longestClosed, this.uptime(now));
  }
  pingRtt(ms) {
    this.ping.add(ms);
  }
  /** A PUBLISH arrived; `bytes` is its size on the wire. */
  received(qos, bytes) {
    this.in.messages[qos]++;
    this.in.bytes[qos] += bytes;
  }
  /** A PUBLISH was sent for the first time (a resend counts in retransmitted() instead). */
  sent(qos, bytes) {
    this.out.messages[qos]++;
    this.out.bytes[qos] += bytes;
  }
  retransmitted() {
    this.retransmissions++;
  }
  /** Messages waiting to be sent (offline queue and in flight). */
  queue(depth) {
    this.queueDepth = depth;
    if (depth > this.queuePeak) this.queuePeak = depth;
  }
  dropped(count = 1) {
    this.drops += count;
  }
  heap(used, peak) {
    this.heapUsed = used;
    this.heapPeak = Math.max(this.heapPeak, peak, used);
  }
  snapshot(now) {
    const failuresByCode = {};
    for (const [code, count] of this.failuresByCode) failuresByCode[code] = count;
    return {
      attempts: this.attempts,
      successes: this.successes,
      failures: this.failures,
      failuresByCode,
      uptime: this.uptime(now),
      longest: this.longest(now),
      ping: this.ping.summary(),
      connect: this.connect.summary(),
      in: copy(this.in),
      out: copy(this.out),
      retransmissions: this.retransmissions,
      queueDepth: this.queueDepth,
      queuePeak: this.queuePeak,
      drops: this.drops,
      heapUsed: this.heapUsed,
      heapPeak: this.heapPeak
    };
  }
  beacon(now) {
    const ping = this.ping.summary();
    return {
      up: this.uptime(now),
      att: this.attempts,
      ok: this.successes,
      fail: this.failures,
      rtt: ping.mean,
      p95: ping.p95,
      in: sum(this.in.messages),
      out: sum(this.out.messages),
      retx: this.retransmissions,
      q: this.queueDepth,
      drop: this.drops,
      heap: this.heapUsed
    };
  }
}
function rttLine(name, s) {
  return `${name} n=${s.n} min=${s.min} mean=${s.mean} max=${s.max} p95=${s.p95}`;
}
function trafficLine(name, t) {
  const [m, b] = [t.messages, t.bytes];
  return `${name} q0=${m[0]} q1=${m[1]} q2=${m[2]} bytes.q0=${b[0]} bytes.q1=${b[1]} bytes.q2=${b[2]}`;
}
function formatStats(s) {
  let failures = "failures";
  for (const code in s.failuresByCode) failures += ` ${code}=${s.failuresByCode[code]}`;
  return [
    `conn attempts=${s.attempts} ok=${s.successes} failed=${s.failures} up=${s.uptime} longest=${s.longest}`,
    failures,
    rttLine("rtt.ping", s.ping),
    rttLine("rtt.connect", s.connect),
    trafficLine("in", s.in),
    trafficLine("out", s.out),
    `queue depth=${s.queueDepth} peak=${s.queuePeak} drops=${s.drops} retransmissions=${s.retransmissions}`,
    `heap used=${s.heapUsed} peak=${s.heapPeak}`
  ];
}
export {
  RttSeries,
  Stats,
  formatStats
};
