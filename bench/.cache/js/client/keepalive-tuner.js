import { outOfRange } from "tether/client/backoff";
const TUNER_DEFAULTS = Object.freeze({
  min: 15,
  factor: 0.7,
  samples: 3,
  tolerance: 0.2,
  raiseAfter: 6 * 36e5
});
const RAISE_STEP = 1.25;
function validateTuner(c) {
  return outOfRange("keepAlive (s)", c.keepAlive, 0, 65535) ?? outOfRange("keepAliveMin (s)", c.min, 1, 65535) ?? outOfRange("keepAliveFactor", c.factor, 0.1, 0.95, false) ?? outOfRange("keepAliveSamples", c.samples, 2, 10) ?? outOfRange("keepAliveTolerance", c.tolerance, 0.01, 0.5, false) ?? outOfRange("keepAliveRaiseAfter (ms)", c.raiseAfter, 6e4, 30 * 864e5);
}
class KeepAliveTuner {
  #config;
  #keepAlive;
  /** Connected ms since the last idle death or change. */
  #stableFor = 0;
  /** The latest idle deaths, ms, oldest first, at most `samples`. */
  #recent = [];
  #evidence = [];
  #connectedAt = -1;
  /** Construct with a configuration `validateTuner` accepts. */
  constructor(config) {
    this.#config = config;
    this.#keepAlive = config.keepAlive;
  }
  /** The keep alive for the next CONNECT, s. */
  get keepAlive() {
    return this.#keepAlive;
  }
  /** Set while the keep alive is lowered because of repeated idle deaths. */
  get natIdleTimeoutSuspected() {
    return this.#evidence.length === 0 ? void 0 : { idle: this.#evidence.slice(), keepAlive: this.#keepAlive, configured: this.#config.keepAlive };
  }
  /** The broker accepted the connection. */
  connected(now) {
    this.#connectedAt = now;
  }
  /**
   * A connection ended. `cause` is its failure code; `idle` is how long nothing had been received when the link
   * went dead, ms: for a keep-alive timeout, from the last packet received to the PINGREQ that went unanswered; for a
   * reset, to the moment of the reset. Returns a reason for the log when the keep alive changed.
   */
  ended(now, cause, idle) {
    const up = this.#connectedAt < 0 ? 0 : now - this.#connectedAt;
    this.#connectedAt = -1;
    const { keepAlive: configured, tolerance, samples, factor, min, raiseAfter } = this.#config;
    if (configured === 0) return void 0;
    const idleDeath = (cause === "keepalive_timeout" || cause === "tcp_reset") && idle > 0;
    if (idleDeath && idle <= configured * 1e3 * (1 + tolerance)) {
      this.#stableFor = 0;
      this.#recent.push(idle);
      if (this.#recent.length > samples) this.#recent.shift();
      const shortest = Math.min(...this.#recent);
      if (this.#recent.length < samples || Math.max(...this.#recent) > shortest * (1 + tolerance)) return void 0;
      this.#evidence = this.#recent;
      const to2 = Math.min(this.#keepAlive, Math.max(Math.min(min, configured), Math.floor(factor * shortest / 1e3)));
      return this.#set(to2, `${samples} deaths after ${this.#seconds()} s idle, NAT idle timeout suspected`);
    }
    this.#stableFor += up;
    if (this.#keepAlive >= configured || this.#stableFor < raiseAfter) return void 0;
    const to = Math.min(configured, Math.ceil(this.#keepAlive * RAISE_STEP));
    if (to === configured) this.#evidence = [];
    return this.#set(to, `stable for ${Math.round(this.#stableFor / 6e4)} min`);
  }
  #seconds() {
    return this.#evidence.map((ms) => Math.round(ms / 1e3)).join("/");
  }
  #set(to, why) {
    const from = this.#keepAlive;
    this.#recent = [];
    this.#stableFor = 0;
    if (to === from) return void 0;
    this.#keepAlive = to;
    return `keep alive ${from} -> ${to} s: ${why}`;
  }
  /** The state to keep across restarts, a short string for the host's key-value storage. */
  serialize() {
    return ["k1", this.#keepAlive, this.#stableFor, this.#recent.join(","), this.#evidence.join(",")].join(";");
  }
  /**
   * Restores a state `serialize` produced, clamped to the current configuration (which may have changed since).
   * Returns false and keeps the fresh state when the text is not such a state.
   */
  restore(text) {
    const parts = text.split(";");
    const list = (s) => s ? s.split(",").map(Number) : [];
    const [keepAlive, stableFor] = [Number(parts[1]), Number(parts[2])];
    const recent = list(parts[3]);
    const evidence = list(parts[4]);
    const valid = (n) => Number.isInteger(n) && n >= 0;
    if (parts.length !== 5 || parts[0] !== "k1" || ![keepAlive, stableFor, ...recent, ...evidence].every(valid))
      return false;
    const { keepAlive: configured, min, samples } = this.#config;
    this.#keepAlive = Math.min(configured, Math.max(Math.min(min, configured), keepAlive));
    this.#stableFor = stableFor;
    this.#recent = recent.slice(-samples);
    this.#evidence = this.#keepAlive < configured ? evidence : [];
    return true;
  }
}
export {
  KeepAliveTuner,
  RAISE_STEP,
  TUNER_DEFAULTS,
  validateTuner
};
