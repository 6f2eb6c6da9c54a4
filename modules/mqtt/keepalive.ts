// Keep-alive bookkeeping (spec 3.1.2.10, 3.12, 3.13): when to send PINGREQ and when the broker counts as gone.
// Time is passed in as milliseconds; the caller owns the timer and asks nextDeadline() when to wake.

const MIN_TIMEOUT = 2000;
/** Before the first round trip is measured: generous enough for a slow cellular or congested Wi-Fi link. */
const DEFAULT_TIMEOUT = 10000;

export type KeepAliveState = "idle" | "ping" | "timeout";

/** The keep alive in force (seconds): the CONNACK's Server Keep Alive (5.0) overrides the one we asked for. */
export function effectiveKeepAlive(requested: number, serverKeepAlive?: number): number {
  return serverKeepAlive ?? requested;
}

/**
 * How long to wait for a PINGRESP (ms): SRTT + 4 RTTVAR as TCP's RTO (RFC 6298), or a default before any
 * measurement, at most half the keep alive so a dead link is noticed well before the next ping is due. The 2 s
 * floor wins over that ceiling for very short keep alives: shorter timeouts would trip on ordinary Wi-Fi jitter.
 */
export function pingTimeout(srtt: number | undefined, rttvar: number, keepAliveSeconds: number): number {
  const wanted = srtt === undefined ? DEFAULT_TIMEOUT : srtt + 4 * rttvar;
  const ceiling = keepAliveSeconds > 0 ? keepAliveSeconds * 500 : wanted;
  return Math.max(MIN_TIMEOUT, Math.min(wanted, ceiling));
}

/**
 * One connection's keep-alive clock and round-trip estimate. Each connection starts a new estimate, from the
 * default timeout: the next one may go another way (another broker of the list, a route changed by the outage).
 *
 * Liveness: the connection is declared dead when a PINGREQ is unanswered and nothing at all has been received for
 * the ping timeout since the PINGREQ or since the last packet received after it. Any packet proves the broker is
 * alive, and a PINGRESP queued behind a burst of PUBLISHes on a slow link would otherwise look like a dead broker.
 * Only the PINGRESP ends the ping, though: it gives the round-trip sample.
 *
 * Its fields are `private`, not `#`: in XS an instance with `#` fields holds one more slot for them.
 */
export class KeepAlive {
  /** The keep alive in force on this connection (seconds); 0 disables pings. The one asked for until `start`. */
  keepAlive: number;
  /** Smoothed round-trip time and its variation (ms); srtt is undefined until the first PINGRESP. */
  srtt: number | undefined = undefined;
  rttvar = 0;
  private lastSent = 0;
  /** When anything was last read from the connection (the connection's idle time is counted from it). */
  lastReceived = 0;
  /** When the unanswered PINGREQ was sent, or -1. */
  private pingAt = -1;
  /** When we first sent a packet that the broker must answer (PUBLISH QoS > 0, SUBSCRIBE...) since we last heard from it, or -1. */
  private answerAt = -1;

  /** `keepAliveSeconds`: the keep alive asked for in CONNECT. */
  constructor(keepAliveSeconds: number) {
    this.keepAlive = keepAliveSeconds;
  }

  /**
   * A connection is up: call on CONNACK with the keep alive in force on it (see effectiveKeepAlive). The clock
   * starts now rather than at CONNECT; the broker allows one and a half keep alives, far more than that round trip.
   */
  start(now: number, keepAliveSeconds: number): void {
    this.keepAlive = keepAliveSeconds;
    this.lastSent = now;
    this.lastReceived = now;
    this.pingAt = -1;
    this.answerAt = -1;
  }

  /** Any packet was written to the connection. */
  sent(now: number): void {
    this.lastSent = now;
  }

  /** Any packet was read from the connection. */
  received(now: number): void {
    this.lastReceived = now;
    this.answerAt = -1;
  }

  /**
   * A packet the broker must answer was written. A device that keeps publishing never goes quiet long enough for a
   * PINGREQ, so on a half-open link this is what notices: no answer (nor anything else) within a keep alive plus
   * the ping timeout means the link is dead.
   */
  expectAnswer(now: number): void {
    this.lastSent = now;
    if (this.answerAt < 0) this.answerAt = now;
  }

  /** A PINGREQ was written (counts as sent). A second one while the first is unanswered keeps the first's time. */
  pingSent(now: number): void {
    this.lastSent = now;
    if (this.pingAt < 0) this.pingAt = now;
  }

  /**
   * A PINGRESP was read (counts as received). Returns the round trip (ms) and feeds it to the estimate as RFC 6298
   * does; undefined for a PINGRESP nobody asked for.
   */
  pingResponse(now: number): number | undefined {
    this.lastReceived = now;
    if (this.pingAt < 0) return undefined;
    const rtt = now - this.pingAt;
    this.pingAt = -1;
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    return rtt;
  }

  /** The current PINGRESP timeout (ms). */
  get pingTimeout(): number {
    return pingTimeout(this.srtt, this.rttvar, this.keepAlive);
  }

  /** What to do now: close the connection, send a PINGREQ, or nothing. */
  check(now: number): KeepAliveState {
    if (now >= this.deadAt()) return "timeout";
    if (this.keepAlive > 0 && now >= this.lastSent + this.keepAlive * 1000) return "ping";
    return "idle";
  }

  /** When `check` must be called next (ms; a time already past means now); Infinity when nothing can happen. */
  nextDeadline(): number {
    const ping = this.keepAlive > 0 ? this.lastSent + this.keepAlive * 1000 : Infinity;
    // Nothing unanswered, as after every packet received: no death deadline (asked after each socket read).
    if (this.pingAt < 0 && this.answerAt < 0) return ping;
    return Math.min(ping, this.deadAt());
  }

  /** When the broker's silence proves the link dead: after an unanswered PINGREQ, or an unanswered packet. */
  private deadAt(): number {
    const ping = this.pingAt >= 0 ? Math.max(this.pingAt, this.lastReceived) + this.pingTimeout : Infinity;
    const answer =
      this.answerAt >= 0 && this.keepAlive > 0 ? this.answerAt + this.keepAlive * 1000 + this.pingTimeout : Infinity;
    return Math.min(ping, answer);
  }
}
