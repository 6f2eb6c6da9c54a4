// Adaptive keep alive for links behind a NAT or firewall that forgets idle connections. A healthy path never kills
// a quiet connection, so connections that keep dying after the same idle time (and no longer than the keep alive
// would let them idle) point at a mapping timeout on the way: the keep alive is lowered below that idle time so the
// pings refresh the mapping before it expires. Pure: the caller passes the time and what it observed.
import { outOfRange } from "tether/client/backoff";
import { longest, shortest, similar, TUNER_DEFAULTS, type TunerConfig } from "tether/client/idle-times";

export { TUNER_DEFAULTS, type TunerConfig };

/** A raise multiplies the keep alive by this much: small steps, each proved by another stable period. */
export const RAISE_STEP = 1.25;

/** Evidence for the diagnostics code nat_idle_timeout_suspected. */
export interface NatEvidence {
  /** The similar idle times (ms since the last packet received) at which the connections died. */
  idle: number[];
  /** The keep alive in use now and the configured one, s. */
  keepAlive: number;
  configured: number;
  /**
   * The idle times call for a keep alive below the lowest the tuner may set (keepAliveMin, or the configured keep
   * alive when lower): the deaths go on at the lowered setting, and only a person can act (see the code's hint).
   */
  belowMin: boolean;
  /** The most the event loop was late around those deaths, ms (see connecting); 0 after a reboot. */
  late: number;
}

/** Checks a configuration; returns an error naming the setting and its allowed range, or undefined when valid. */
export function validateTuner(c: TunerConfig): string | undefined {
  return (
    outOfRange("keepAlive (s)", c.keepAlive, 0, 65535) ??
    outOfRange("keepAliveMin (s)", c.min, 1, 65535) ??
    outOfRange("keepAliveFactor", c.factor, 0.1, 0.95, false) ??
    outOfRange("keepAliveSamples", c.samples, 2, 10) ??
    outOfRange("keepAliveTolerance", c.tolerance, 0.01, 0.5, false) ??
    outOfRange("keepAliveRaiseAfter (ms)", c.raiseAfter, 60000, 30 * 86400000)
  );
}

/** No times (see KeepAliveTuner's lists). */
const NONE: readonly number[] = Object.freeze([]);

export class KeepAliveTuner {
  readonly #config: TunerConfig;
  #keepAlive: number;
  /** Connected ms since the last idle death or change. */
  #stableFor = 0;
  /**
   * The latest idle deaths, ms, oldest first, at most `samples`. These lists are replaced, never changed in place,
   * so that a tuner with none shares one frozen empty list (NONE) instead of keeping three of its own.
   */
  #recent: readonly number[] = NONE;
  /** How late the loop ran around each of #recent (see connecting); 0 for those restored from storage. */
  #recentLate: readonly number[] = NONE;
  /** How late the timer that dialled the current connection fired, ms. */
  #late = 0;
  #evidence: readonly number[] = NONE;
  #evidenceLate = 0;
  #conclusions = 0;
  #connectedAt = -1;

  /** Construct with a configuration `validateTuner` accepts. */
  constructor(config: TunerConfig) {
    this.#config = config;
    this.#keepAlive = config.keepAlive;
  }

  /** The keep alive for the next CONNECT, s. */
  get keepAlive(): number {
    return this.#keepAlive;
  }

  /** Set while the keep alive is lowered because of repeated idle deaths. */
  get natIdleTimeoutSuspected(): NatEvidence | undefined {
    const { keepAlive: configured, min, factor } = this.#config;
    if (this.#evidence.length === 0) return undefined;
    const wanted = Math.floor((factor * shortest(this.#evidence)) / 1000);
    return {
      idle: this.#evidence.slice(),
      keepAlive: this.#keepAlive,
      configured,
      belowMin: wanted < Math.min(min, configured),
      late: this.#evidenceLate,
    };
  }

  /**
   * How many times deaths pointed at a NAT idle timeout so far, whether or not the keep alive could change: the
   * caller reports each new conclusion (natIdleTimeoutSuspected has its evidence).
   */
  get conclusions(): number {
    return this.#conclusions;
  }

  /**
   * The shortest idle death it counts, ms: the lowest keep alive it may set, less the tolerance. At that keep alive
   * a ping goes out a keep alive after the last packet sent, so the quiet since the last packet received (the
   * answer to it) is a round trip shorter. Shorter deaths are for the diagnostics to name: no keep alive it may
   * set can prevent them.
   */
  get minIdle(): number {
    const { keepAlive: configured, min, tolerance } = this.#config;
    return Math.min(min, configured) * 1000 * (1 - tolerance);
  }

  /**
   * A dial starts. `late`: how late the backoff timer that dialled fired, ms (0: dialled at once): how late the event
   * loop runs around this connection. The idle time of its death is read on that loop, at both of its ends: two
   * deaths at the same idle time may read up to twice that apart.
   */
  connecting(late: number): void {
    this.#late = late;
  }

  /** The broker accepted the connection. */
  connected(now: number): void {
    this.#connectedAt = now;
  }

  /**
   * A connection ended. `cause` is its failure code; `idle` is how long nothing had been received when the link
   * went dead, ms: for a keep-alive timeout, from the last packet received to the PINGREQ that went unanswered; for a
   * reset, to the moment of the reset. Returns a reason for the log when the keep alive changed.
   */
  ended(now: number, cause: string, idle: number): string | undefined {
    const up = this.#connectedAt < 0 ? 0 : now - this.#connectedAt;
    this.#connectedAt = -1;
    const { keepAlive: configured, tolerance, samples, factor, min, raiseAfter } = this.#config;
    if (configured === 0) return undefined;
    // Deaths after less idle time than the lowest keep alive we would set (see minIdle) are nothing a shorter keep
    // alive could help with: a NAT that forgets sooner still, or a link something cuts soon after it starts.
    const idleDeath = (cause === "keepalive_timeout" || cause === "tcp_reset") && idle >= this.minIdle;
    // No longer than the keep alive lets a connection idle, as read on a loop that runs late (see connecting).
    if (idleDeath && idle <= configured * 1000 * (1 + tolerance) + 2 * this.#late) {
      this.#stableFor = 0;
      this.#recent = [...this.#recent, idle].slice(-samples);
      this.#recentLate = [...this.#recentLate, this.#late].slice(-samples);
      const slack = 2 * longest(this.#recentLate);
      if (this.#recent.length < samples || !similar(this.#recent, tolerance, slack)) return undefined;
      const least = shortest(this.#recent);
      this.#evidence = this.#recent;
      this.#evidenceLate = slack / 2;
      this.#conclusions++;
      // Only ever lowers here: a death can be evidence for a shorter keep alive, never for a longer one.
      const to = Math.min(this.#keepAlive, Math.max(Math.min(min, configured), Math.floor((factor * least) / 1000)));
      return this.setSeconds(to, `${samples} deaths after ${this.seconds()} s idle, NAT idle timeout suspected`);
    }
    this.#stableFor += up;
    if (this.#keepAlive >= configured || this.#stableFor < raiseAfter) return undefined;
    const to = Math.min(configured, Math.ceil(this.#keepAlive * RAISE_STEP));
    if (to === configured) this.#evidence = NONE;
    return this.setSeconds(to, `stable for ${Math.round(this.#stableFor / 60000)} min`);
  }

  private seconds(): string {
    return this.#evidence.map((ms) => Math.round(ms / 1000)).join("/");
  }

  private setSeconds(to: number, why: string): string | undefined {
    const from = this.#keepAlive;
    this.#recent = NONE;
    this.#recentLate = NONE;
    this.#stableFor = 0;
    if (to === from) return undefined;
    this.#keepAlive = to;
    return `keep alive ${from} -> ${to} s: ${why}`;
  }

  /** The state to keep across restarts, a short string for the host's key-value storage. */
  serialize(): string {
    return ["k1", this.#keepAlive, this.#stableFor, this.#recent.join(","), this.#evidence.join(",")].join(";");
  }

  /**
   * Restores a state `serialize` produced, clamped to the current configuration (which may have changed since).
   * Returns false and keeps the fresh state when the text is not such a state.
   */
  restore(text: string): boolean {
    const parts = text.split(";");
    const list = (s: string | undefined) => (s ? s.split(",").map(Number) : []);
    const [keepAlive, stableFor] = [Number(parts[1]), Number(parts[2])];
    const recent = list(parts[3]);
    const evidence = list(parts[4]);
    const valid = (n: number) => Number.isInteger(n) && n >= 0;
    if (parts.length !== 5 || parts[0] !== "k1" || ![keepAlive, stableFor, ...recent, ...evidence].every(valid))
      return false;
    const { keepAlive: configured, min, samples } = this.#config;
    this.#keepAlive = Math.min(configured, Math.max(Math.min(min, configured), keepAlive));
    this.#stableFor = stableFor;
    this.#recent = recent.slice(-samples);
    // How late the loop ran before the reboot is not kept: those deaths count as read on time.
    this.#recentLate = this.#recent.map(() => 0);
    this.#evidence = this.#keepAlive < configured ? evidence : NONE;
    this.#evidenceLate = 0;
    return true;
  }
}
