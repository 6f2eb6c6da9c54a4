const MIN_TIMEOUT = 2e3;
const DEFAULT_TIMEOUT = 1e4;
function effectiveKeepAlive(requested, serverKeepAlive) {
  return serverKeepAlive ?? requested;
}
function pingTimeout(srtt, rttvar, keepAliveSeconds) {
  const wanted = srtt === void 0 ? DEFAULT_TIMEOUT : srtt + 4 * rttvar;
  const ceiling = keepAliveSeconds > 0 ? keepAliveSeconds * 500 : wanted;
  return Math.max(MIN_TIMEOUT, Math.min(wanted, ceiling));
}
class KeepAlive {
  /** The keep alive we ask for in CONNECT (seconds). */
  requested;
  /** The keep alive in force on this connection (seconds); 0 disables pings. */
  keepAlive;
  /** Smoothed round-trip time and its variation (ms); srtt is undefined until the first PINGRESP. */
  srtt = void 0;
  rttvar = 0;
  #lastSent = 0;
  #lastReceived = 0;
  /** When the unanswered PINGREQ was sent, or -1. */
  #pingAt = -1;
  constructor(keepAliveSeconds) {
    this.requested = keepAliveSeconds;
    this.keepAlive = keepAliveSeconds;
  }
  /**
   * A connection is up: call on CONNACK with its Server Keep Alive (5.0). The clock starts now rather than at
   * CONNECT; the broker allows one and a half keep alives, far more than that round trip. The RTT estimate is kept.
   */
  start(now, serverKeepAlive) {
    this.keepAlive = effectiveKeepAlive(this.requested, serverKeepAlive);
    this.#lastSent = now;
    this.#lastReceived = now;
    this.#pingAt = -1;
  }
  /** Any packet was written to the connection. */
  sent(now) {
    this.#lastSent = now;
  }
  /** Any packet was read from the connection. */
  received(now) {
    this.#lastReceived = now;
  }
  /** A PINGREQ was written (counts as sent). A second one while the first is unanswered keeps the first's time. */
  pingSent(now) {
    this.#lastSent = now;
    if (this.#pingAt < 0) this.#pingAt = now;
  }
  /**
   * A PINGRESP was read (counts as received). Returns the round trip (ms) and feeds it to the estimate as RFC 6298
   * does; undefined for a PINGRESP nobody asked for.
   */
  pingResponse(now) {
    this.#lastReceived = now;
    if (this.#pingAt < 0) return void 0;
    const rtt = now - this.#pingAt;
    this.#pingAt = -1;
    if (this.srtt === void 0) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    return rtt;
  }
  /** The current PINGRESP timeout (ms). */
  get pingTimeout() {
    return pingTimeout(this.srtt, this.rttvar, this.keepAlive);
  }
  /** What to do now: close the connection, send a PINGREQ, or nothing. */
  check(now) {
    if (this.#pingAt >= 0 && now >= this.#silentUntil()) return "timeout";
    if (this.keepAlive > 0 && now >= this.#lastSent + this.keepAlive * 1e3) return "ping";
    return "idle";
  }
  /** When `check` must be called next (ms; a time already past means now); Infinity when nothing can happen. */
  nextDeadline() {
    const ping = this.keepAlive > 0 ? this.#lastSent + this.keepAlive * 1e3 : Infinity;
    const dead = this.#pingAt >= 0 ? this.#silentUntil() : Infinity;
    return Math.min(ping, dead);
  }
  #silentUntil() {
    return Math.max(this.#pingAt, this.#lastReceived) + this.pingTimeout;
  }
}
export {
  KeepAlive,
  effectiveKeepAlive,
  pingTimeout
};
