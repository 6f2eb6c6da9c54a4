// Counters and round-trip statistics for the `stats` console command and the status beacon. Recording a sample
// allocates nothing: round-trip times go into fixed rings, counters are plain numbers. Only a snapshot allocates.

import type { HistoryCounts } from "tether/diag/history";
import type { SerialCounts } from "tether/diag/log";
import { type FlashCounts, wearYears } from "tether/diag/storage";
import type { QoS } from "tether/mqtt/packets";

/** Statistics of the last samples of a round trip, in ms; all 0 while there are none. */
export interface RttSummary {
  n: number;
  min: number;
  mean: number;
  max: number;
  /** Nearest-rank 95th percentile. */
  p95: number;
}

/** The last `size` samples of one round trip (PINGREQ to PINGRESP, CONNECT to CONNACK), in whole ms. */
export class RttSeries {
  /**
   * Whole milliseconds (Host.now() counts them), up to 49 days: half the bytes of a Float64Array. Made with the first
   * sample (a device that has not pinged yet keeps none).
   */
  private ring: Uint32Array | undefined;
  private readonly size: number;
  private next = 0;
  private count = 0;

  constructor(size = 32) {
    this.size = size;
  }

  add(ms: number): void {
    this.ring ??= new Uint32Array(this.size);
    const ring = this.ring;
    ring[this.next] = ms;
    this.next = (this.next + 1) % ring.length;
    if (this.count < ring.length) this.count++;
  }

  /** The latest sample, or 0. */
  last(): number {
    return this.ring && this.count ? this.ring[(this.next + this.size - 1) % this.size] : 0;
  }

  /** Sorts a copy: a scratch array kept for it would cost heap for as long as the device runs. */
  summary(): RttSummary {
    const n = this.count;
    if (n === 0 || !this.ring) return { n: 0, min: 0, mean: 0, max: 0, p95: 0 };
    const sorted = this.ring.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    return { n, min: sorted[0], mean: Math.round(sum / n), max: sorted[n - 1], p95: sorted[Math.ceil(n * 0.95) - 1] };
  }
}

/** Messages and PUBLISH bytes in one direction, indexed by QoS. */
export interface Traffic {
  messages: [number, number, number];
  bytes: [number, number, number];
}

export interface StatsSnapshot {
  /** Connection attempts, those the broker accepted, and those that failed before it did: they add up. */
  attempts: number;
  successes: number;
  failures: number;
  /** Accepted connections that a failure ended (a reset, a keep-alive timeout, the broker closing it). */
  lost: number;
  failuresByCode: Record<string, number>;
  /** Ms connected now (0 when not connected) and the longest connection so far, the current one included. */
  uptime: number;
  longest: number;
  ping: RttSummary;
  connect: RttSummary;
  in: Traffic;
  out: Traffic;
  retransmissions: number;
  queueDepth: number;
  queuePeak: number;
  drops: number;
  /** Exceptions the firmware's top-level guard caught, and how many of them came from handling a message. */
  faults: number;
  poison: number;
  heapUsed: number;
  heapPeak: number;
  remote: RemoteCounts;
}

/** The command topic's counters: commands run, refused by the budget, and what their senders caused. */
export interface RemoteCounts {
  run: number;
  refused: number;
  /** Replies the client did not take (its queue was full). */
  unanswered: number;
  /** Commands larger than maxPacketSize (skipped), replies the broker refused on a sender's Response Topic. */
  oversized: number;
  denied: number;
}

/** The status beacon's part: short keys, numbers only. */
export interface StatsBeacon {
  up: number;
  att: number;
  ok: number;
  fail: number;
  lost: number;
  /** Mean and p95 PINGREQ round trip, ms. */
  rtt: number;
  p95: number;
  in: number;
  out: number;
  retx: number;
  q: number;
  drop: number;
  heap: number;
}

/** Where each direction's counters start in Stats.traffic: messages by QoS, then bytes by QoS. */
const IN = 0;
const OUT = 6;

const NO_REMOTE: RemoteCounts = Object.freeze({ run: 0, refused: 0, unanswered: 0, oversized: 0, denied: 0 });

export class Stats {
  attempts = 0;
  successes = 0;
  /** Attempts that failed before the broker accepted them. */
  failures = 0;
  /** Accepted connections that a failure ended. */
  lost = 0;
  /** Failures by code, made with the first. */
  private byCode: Map<string, number> | undefined;
  /** When the current connection started, or -1 when there is none. */
  private connectedAt = -1;
  private longestClosed = 0;
  readonly ping: RttSeries;
  readonly connect: RttSeries;
  /** Both directions' counters in one array (IN, OUT): four arrays and two objects would cost three times as much. */
  private readonly traffic = new Float64Array(12);
  retransmissions = 0;
  queueDepth = 0;
  queuePeak = 0;
  drops = 0;
  faults = 0;
  poison = 0;
  heapUsed = 0;
  heapPeak = 0;
  /** The remote commands' counts, made with the first command (see remote). */
  private remoteCounts: RemoteCounts | undefined;

  /** `window` is how many round-trip samples each series keeps. */
  constructor(window = 32) {
    this.ping = new RttSeries(window);
    this.connect = new RttSeries(window);
  }

  /** The remote commands' counts (remote.ts counts into them). */
  get remote(): RemoteCounts {
    this.remoteCounts ??= { run: 0, refused: 0, unanswered: 0, oversized: 0, denied: 0 };
    return this.remoteCounts;
  }

  /** A connection attempt starts (DNS, TCP, CONNECT: all of it). */
  attempt(): void {
    this.attempts++;
  }

  /** CONNACK accepted; `rtt` is CONNECT to CONNACK in ms. */
  connected(now: number, rtt: number): void {
    this.successes++;
    this.connect.add(rtt);
    this.connectedAt = now;
  }

  /** A will probe the broker accepted, closed by us at once (see Client.probed): an attempt that succeeded. */
  probeTaken(): void {
    this.successes++;
  }

  /**
   * An attempt or a connection failed with `code`; a live connection ends here. An attempt counts as failed, a
   * connection as lost: each attempt either succeeded or failed, so `attempts = ok + failed` (one more while an
   * attempt is under way), and a broker drop is not counted as a failed attempt too.
   */
  failed(now: number, code: string): void {
    if (this.connectedAt >= 0) this.lost++;
    else this.failures++;
    this.byCode ??= new Map();
    const byCode = this.byCode;
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    this.closed(now);
  }

  /** The connection ended (by the device, or after failed()). */
  closed(now: number): void {
    if (this.connectedAt >= 0) this.longestClosed = Math.max(this.longestClosed, now - this.connectedAt);
    this.connectedAt = -1;
  }

  uptime(now: number): number {
    return this.connectedAt < 0 ? 0 : now - this.connectedAt;
  }

  longest(now: number): number {
    return Math.max(this.longestClosed, this.uptime(now));
  }

  pingRtt(ms: number): void {
    this.ping.add(ms);
  }

  /** A PUBLISH arrived; `bytes` is its size on the wire. */
  received(qos: QoS, bytes: number): void {
    this.count(IN, qos, bytes);
  }

  /** A PUBLISH was sent for the first time (a resend counts in retransmitted() instead). */
  sent(qos: QoS, bytes: number): void {
    this.count(OUT, qos, bytes);
  }

  private count(direction: number, qos: QoS, bytes: number): void {
    this.traffic[direction + qos]++;
    this.traffic[direction + 3 + qos] += bytes;
  }

  private copy(direction: number): Traffic {
    const t = this.traffic;
    return {
      messages: [t[direction], t[direction + 1], t[direction + 2]],
      bytes: [t[direction + 3], t[direction + 4], t[direction + 5]],
    };
  }

  /** Messages in one direction, all QoS. */
  private messages(direction: number): number {
    return this.traffic[direction] + this.traffic[direction + 1] + this.traffic[direction + 2];
  }

  retransmitted(): void {
    this.retransmissions++;
  }

  /** Messages waiting to be sent (offline queue and in flight). */
  queue(depth: number): void {
    this.queueDepth = depth;
    if (depth > this.queuePeak) this.queuePeak = depth;
  }

  dropped(count = 1): void {
    this.drops += count;
  }

  /** An event handler threw; `message` when it was handling a received message (a poison message). */
  fault(message: boolean): void {
    this.faults++;
    if (message) this.poison++;
  }

  heap(used: number, peak: number): void {
    this.heapUsed = used;
    this.heapPeak = Math.max(this.heapPeak, peak, used);
  }

  snapshot(now: number): StatsSnapshot {
    const failuresByCode: Record<string, number> = {};
    for (const [code, count] of this.byCode ?? []) failuresByCode[code] = count;
    return {
      attempts: this.attempts,
      successes: this.successes,
      failures: this.failures,
      lost: this.lost,
      failuresByCode,
      uptime: this.uptime(now),
      longest: this.longest(now),
      ping: this.ping.summary(),
      connect: this.connect.summary(),
      in: this.copy(IN),
      out: this.copy(OUT),
      retransmissions: this.retransmissions,
      queueDepth: this.queueDepth,
      queuePeak: this.queuePeak,
      drops: this.drops,
      faults: this.faults,
      poison: this.poison,
      heapUsed: this.heapUsed,
      heapPeak: this.heapPeak,
      remote: { ...(this.remoteCounts ?? NO_REMOTE) },
    };
  }

  beacon(now: number): StatsBeacon {
    const ping = this.ping.summary();
    return {
      up: this.uptime(now),
      att: this.attempts,
      ok: this.successes,
      fail: this.failures,
      lost: this.lost,
      rtt: ping.mean,
      p95: ping.p95,
      in: this.messages(IN),
      out: this.messages(OUT),
      retx: this.retransmissions,
      q: this.queueDepth,
      drop: this.drops,
      heap: this.heapUsed,
    };
  }
}

function rttLine(name: string, s: RttSummary): string {
  return `${name} n=${s.n} min=${s.min} mean=${s.mean} max=${s.max} p95=${s.p95}`;
}

function trafficLine(name: string, t: Traffic): string {
  const [m, b] = [t.messages, t.bytes];
  return `${name} q0=${m[0]} q1=${m[1]} q2=${m[2]} bytes.q0=${b[0]} bytes.q1=${b[1]} bytes.q2=${b[2]}`;
}

/** The `stats` command's output: one `<topic> key=value ...` line per group, times in ms. */
export function formatStats(s: StatsSnapshot): string[] {
  const r = s.remote;
  let failures = "failures";
  for (const code in s.failuresByCode) failures += ` ${code}=${s.failuresByCode[code]}`;
  return [
    `conn attempts=${s.attempts} ok=${s.successes} failed=${s.failures} lost=${s.lost} up=${s.uptime} longest=${s.longest}`,
    failures,
    rttLine("rtt.ping", s.ping),
    rttLine("rtt.connect", s.connect),
    trafficLine("in", s.in),
    trafficLine("out", s.out),
    `queue depth=${s.queueDepth} peak=${s.queuePeak} drops=${s.drops} retransmissions=${s.retransmissions}`,
    `faults total=${s.faults} poison=${s.poison}`,
    `heap used=${s.heapUsed} peak=${s.heapPeak}`,
    `remote run=${r.run} refused=${r.refused} unanswered=${r.unanswered} sender_oversized=${r.oversized} sender_denied=${r.denied}`,
  ];
}

/** The budgets' figures (see diag/storage, diag/log, diag/history and remoteBudget), for `stats`. */
export interface Budgets {
  flash: FlashCounts;
  serial: SerialCounts;
  history: HistoryCounts;
  /** Commands a minute the command topic runs. */
  remote: number;
}

/** The `stats` command's budget lines: each budget's limit and what it counted since boot. */
export function formatBudgets(b: Budgets): string[] {
  const { flash: f, serial: s, history: h } = b;
  return [
    `budget.flash per_hour=${f.budget} wear_years=${wearYears(f.budget)} writes=${f.writes} deletes=${f.deletes} refused=${f.refused} rejected=${f.rejected}`,
    `budget.serial per_second=${s.budget} printed=${s.printed} held=${s.held}`,
    `budget.history per_hour=${h.budget} written=${h.written} repeats=${h.repeats} held=${h.held}`,
    `budget.remote per_minute=${b.remote}`,
  ];
}
