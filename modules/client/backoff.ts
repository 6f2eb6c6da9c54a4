// When and where the supervisor dials next. Pure: the caller passes the time and a random source, and gets back a
// delay (or "wait for the link") and the broker to try.
//
// Jitter follows AWS's "Exponential Backoff and Jitter". The default is decorrelated jitter: after the first retry
// it never waits less than `base`, so a broker that keeps failing is never hammered by the near-zero delays full
// jitter draws now and then, while the randomness still spreads a fleet that lost its broker at the same moment.
// The growth is reset only by a connection that stayed up for `stable` ms: a broker that accepts and drops at
// once therefore sees ever longer delays (with a `spread`: delays in its band), not a reconnect storm.
//
// A device is one of a fleet, and the fleet fails together (a broker restart, a broken auth backend, a power cut):
// - every wait is drawn, the longest ones included: a wait of exactly `cap` would keep devices that failed in the
//   same second retrying in the same second forever;
// - a broker that closes the connection (broker_closed: mosquitto stopping; MQTT 5 0x8B) is going away for the
//   whole fleet at once, and a restart is back in well under a second: the first retry comes within `spread`;
//   other drops (a reset, a keep-alive timeout: one device's path) retry within `base`;
// - a second failure in a row (refused, reset, timed out: the `normal` causes) means a broker down or restarting,
//   not one device's bad luck: from there on the device retries on a grid of its own, every `spread - base` (the
//   period, 14 s by default) at a phase drawn once, when it joins the grid. Phases drawn independently are spread
//   evenly over the period and stay so while the broker is down, however long: a returning broker sees 1/period of
//   the fleet per second (1/14) and all of it within one period. Drawing each wait afresh (as before, from
//   spread/3..spread) let the waves of a long outage bunch: 10 to 13.5% in the busiest second. docs/fleet.md
//   measures it;
// - the first attempt after power-on, and the first link-up since, comes within `spread` too;
// - refused credentials and quotas wait cap/2..cap: at most one attempt per half cap per device, all back within
//   the cap once fixed; the growth state is left alone meanwhile, so a long outage does not slow the recovery.

import { type Endpoint, hostPort, parseServerReference, type Reference } from "tether/client/broker";

export type Jitter = "full" | "decorrelated";

export interface BackoffConfig {
  /** Window of the first retry and, for decorrelated jitter, the shortest later delay; ms. */
  base: number;
  /** Longest delay, ms. */
  cap: number;
  /** How long a connection must stay up before the backoff starts again from `base`, ms. */
  stable: number;
  jitter: Jitter;
  /**
   * The fleet's window, ms (0: none): the first attempt after power-on comes within it, and failures that a
   * restarting broker causes are retried within it rather than the cap. Clamped to `cap`.
   */
  spread: number;
}

export const DEFAULT_BASE = 1000;
export const DEFAULT_CAP = 120000;
export const DEFAULT_STABLE = 60000;
export const DEFAULT_JITTER: Jitter = "decorrelated";
export const DEFAULT_SPREAD = 15000;
/** Server References followed in a row without a stable connection before a redirect counts as a failure. */
export const MAX_REDIRECTS = 4;
/** A busy server is left alone for at least this many `base` delays. */
export const BUSY_FACTOR = 10;

/** What the supervisor knows about a failure beyond its cause, from the CONNACK or DISCONNECT. */
export interface FailureInfo {
  /** The MQTT 5 reason code, when the broker gave one: it refines a generic cause such as server_disconnect. */
  reasonCode?: number;
  /** MQTT 5 Server Reference: one or more `host[:port]` separated by spaces. */
  serverReference?: string;
  /** A retry delay the server asked for, ms (from a user property or a broker-specific hint). */
  retryAfter?: number;
}

/** The decision after a connection ended or an attempt failed. */
export interface Retry<B extends Endpoint = Endpoint> {
  /** Milliseconds to wait before dialling `broker`; with `waitForLink`, only if the link is up all the same. */
  delay: number;
  /** The network link is down: dial when the host reports it up again (then call `linkUp`), not on a timer. */
  waitForLink: boolean;
  /** The broker to dial: one of the list, or a Server Reference target (a copy of the redirecting broker). */
  broker: B;
  /** The cause sent the delay straight to the cap: retrying sooner cannot help. */
  capped: boolean;
  /** One line for the diagnostics log. */
  reason: string;
}

/**
 * How a failure steers the next attempt, from its cause (a failure code of the diagnostics) and, when the broker
 * gave one, its MQTT 5 reason code:
 * - `cap`: the credentials or the client are refused (0x86, 0x87, 0x8A), or a quota is used up (0x97); only a
 *   configuration change or the quota's period helps.
 * - `busy`: the server sheds load (0x88, 0x89 busy, 0x9F connection rate; 3.1.1 return code 3).
 * - `link`: the local network is down; no attempt can succeed until it is back.
 * - `redirect`: 0x9C use another server or 0x9D server moved, with a Server Reference: go there.
 * - `normal`: everything else (refused, reset, timeouts, DNS, TLS...).
 */
export type CausePolicy = "cap" | "busy" | "link" | "redirect" | "normal";

export function causePolicy(cause: string, reasonCode?: number): CausePolicy {
  switch (reasonCode) {
    case 0x86:
    case 0x87:
    case 0x8a:
    case 0x97:
      return "cap";
    case 0x88:
    case 0x89:
    case 0x9f:
      return "busy";
    case 0x9c:
    case 0x9d:
      return "redirect";
  }
  switch (cause) {
    case "bad_credentials":
    case "not_authorized":
    case "quota_exceeded":
      return "cap";
    case "server_unavailable":
    case "server_busy":
      return "busy";
    case "link_down":
      return "link";
    case "server_moved":
      return "redirect";
    default:
      return "normal";
  }
}

/**
 * The broker closed every connection it had: it shut down or restarted (mosquitto closes its sockets without a
 * DISCONNECT when stopped; an MQTT 5 broker may say 0x8B Server shutting down). A restart takes a broker a fraction
 * of a second, so its whole fleet would be back in one `base` window: those devices spread their first retry.
 */
function brokerWentAway(cause: string, info: FailureInfo | undefined): boolean {
  return cause === "broker_closed" || info?.reasonCode === 0x8b;
}

/** An error naming the setting and its allowed range when `value` is outside it (or not an integer when asked). */
export function outOfRange(name: string, value: number, min: number, max: number, integer = true): string | undefined {
  const ok = (!integer || Number.isInteger(value)) && value >= min && value <= max;
  return ok ? undefined : `${name} must be ${integer ? "an integer " : ""}from ${min} to ${max} (got ${value})`;
}

/**
 * Checks a configuration and the broker list; returns an error naming the setting and its allowed range, or
 * undefined when valid.
 */
export function validateBackoff(c: BackoffConfig, brokers: readonly Endpoint[]): string | undefined {
  if (c.jitter !== "full" && c.jitter !== "decorrelated")
    return `backoffJitter must be "full" or "decorrelated" (got "${c.jitter}")`;
  if (brokers.length === 0) return "broker: the list is empty; give at least one host[:port]";
  for (const b of brokers) {
    if (b.host === "" || !(Number.isInteger(b.port) && b.port >= 1 && b.port <= 65535))
      return `broker "${hostPort(b)}": host must not be empty and port must be 1..65535`;
  }
  return (
    outOfRange("backoffBase (ms)", c.base, 1, 3600000) ??
    outOfRange("backoffCap (ms, at least backoffBase)", c.cap, c.base, 86400000) ??
    outOfRange("backoffStable (ms)", c.stable, 1000, 86400000) ??
    outOfRange("backoffSpread (ms)", c.spread, 0, 86400000)
  );
}

interface BrokerState {
  /** Failed attempts since the last reset. */
  failures: number;
  /** Previous decorrelated delay. */
  sleep: number;
  /** Not to be dialled before this time. */
  readyAt: number;
  /** The device's next slot on its retry grid at this broker (see spreadOut); -1 before it joins the grid. */
  slot: number;
}

/**
 * The MQTT 5 Server Reference being followed: made when a broker redirects (issue 22: most devices never meet one),
 * dropped when a failure counts against the configured brokers again, unless it is a server moved to that accepted us.
 */
interface Redirect<B> {
  /** The server dialled in place of the configured broker; undefined once it failed, until the next entry. */
  broker: B | undefined;
  /**
   * A 0x9D Server moved (for good, spec 3.14.2.1), not a 0x9C Use another server (for now): the server moved to is
   * kept while it accepts us, past the disconnects that follow; a failed attempt there ends it.
   */
  moved: boolean;
  /** The entries of the Server Reference still to try, in order. */
  left: B[];
  /** References followed in a row without a stable connection (see MAX_REDIRECTS). */
  count: number;
}

/** Bits of Backoff.flags: two booleans in one slot. */
const BOOTING = 1;
const LOOPING = 2;

/**
 * Reconnect timing and broker choice for one supervisor. Construct with what `validateBackoff` accepts. `B` lets
 * the caller's broker type (with its TLS settings, say) come back in the decisions.
 *
 * Every field is a slot of the instance in XS, so cold state waits until it is needed (issue 22): the brokers'
 * growth state is made by the first failure and dropped by a stable connection (a broker without one is in its
 * initial state), and a Redirect only by a broker that redirects.
 */
export class Backoff<B extends Endpoint = Endpoint> {
  private readonly config: BackoffConfig;
  /**
   * The host, or any source of numbers in [0, 1) like Math.random: an object, not a closure kept for the client's
   * life.
   */
  private readonly source: { random(): number };
  private readonly brokers: readonly B[];
  /** One per broker, in the order of `brokers`; undefined while every broker is in its initial state. */
  private states: BrokerState[] | undefined;
  private index = 0;
  private redirect: Redirect<B> | undefined;
  private connectedAt = -1;
  private failedAttempts = 0;
  /**
   * BOOTING: powered on (boot) and not connected since, so a link that comes up now is the fleet's, not this
   * device's. LOOPING: see `looping`.
   */
  private flags = 0;

  /** `brokers` are tried in round-robin order. */
  constructor(config: BackoffConfig, source: { random(): number }, brokers: readonly B[]) {
    this.config = config;
    this.source = source;
    this.brokers = brokers;
  }

  /**
   * Connections keep ending the same way with nothing delivered (the supervisor's loop detector): whatever the
   * cause's policy, the waits grow towards the cap until something is delivered again.
   */
  get looping(): boolean {
    return (this.flags & LOOPING) !== 0;
  }

  set looping(on: boolean) {
    this.flags = on ? this.flags | LOOPING : this.flags & ~LOOPING;
  }

  /** Failed attempts since the last stable connection. */
  get attempt(): number {
    return this.failedAttempts;
  }

  /** The broker to dial now: the one the last decision named (the first configured one at start). */
  get broker(): B {
    return this.redirect?.broker ?? this.brokers[this.index]!;
  }

  /** The broker accepted the connection (CONNACK with success). */
  connected(now: number): void {
    this.connectedAt = now;
    this.flags &= ~BOOTING;
  }

  /** An established connection ended. */
  disconnected(now: number, cause: string, info?: FailureInfo): Retry<B> {
    const up = this.connectedAt < 0 ? 0 : now - this.connectedAt;
    const stable = up >= this.config.stable;
    if (stable) {
      this.states = undefined;
      this.failedAttempts = 0;
      if (this.redirect) this.redirect.count = 0;
    }
    const wasUp = this.connectedAt >= 0;
    return this.decide(now, cause, info, stable, stable ? ` after ${up} ms up, backoff reset` : "", wasUp);
  }

  /** An attempt ended before the broker accepted it (TCP, TLS or CONNACK failure). */
  failed(now: number, cause: string, info?: FailureInfo): Retry<B> {
    return this.decide(now, cause, info, false, "", false);
  }

  /**
   * Power-on: when to make the first attempt. Within the spread (none when it is 0), so that a fleet powered on
   * together does not dial in one second.
   */
  boot(now: number): Retry<B> {
    this.flags |= BOOTING;
    const spread = this.spreadCeiling();
    return this.pick(now, Math.floor(this.source.random() * spread), true, "power-on spread");
  }

  /**
   * The network link is back after a `waitForLink` decision (or came up at boot). Within the spread when no
   * connection has been made since power-on (a fleet's links come up together after a power cut), within `base`
   * otherwise (one device's link, which the others did not share).
   */
  linkUp(now: number): Retry<B> {
    const window = (this.flags & BOOTING) !== 0 ? Math.max(this.spreadCeiling(), this.config.base) : this.config.base;
    return this.pick(now, Math.floor(this.source.random() * window), true, "link up");
  }

  /** The ceiling of the waits that a broker that refuses or resets causes. */
  private spreadCeiling(): number {
    const { spread, cap } = this.config;
    return spread > 0 ? Math.min(spread, cap) : 0;
  }

  /**
   * A wait drawn from `low`..1 of `ceiling`: jitter at a ceiling, so that a fleet never retries in lockstep, and
   * the band's width (1 - low) bounds the share of the fleet one second sees (docs/fleet.md).
   */
  private band(ceiling: number, low: number): number {
    return Math.floor(ceiling * (low + this.source.random() * (1 - low)));
  }

  private decide(
    now: number,
    cause: string,
    info: FailureInfo | undefined,
    sticky: boolean,
    note: string,
    wasUp: boolean,
  ): Retry<B> {
    this.connectedAt = -1;
    const policy = causePolicy(cause, info?.reasonCode);
    const redirect = this.redirect;
    // The server moved to keeps us after a disconnect (it accepted us); anything else goes back to the list.
    if (redirect && !(wasUp && policy !== "redirect")) redirect.moved = false;
    if (policy === "link") {
      // `delay` serves when the host says the link is up after all (a route or a socket the platform refused): the
      // supervisor then waits it, grown like any failure's, instead of dialling again at once, in a loop.
      return {
        delay: this.grow(this.brokerStates()[this.index]!, this.config.cap),
        waitForLink: true,
        broker: this.broker,
        capped: false,
        reason: `${cause}: waiting for the link`,
      };
    }
    // A Server Reference lists servers to try in turn, and a server redirected to may redirect again: followed up to
    // MAX_REDIRECTS in a row without a stable connection. Past that, or once every entry has failed, the failure
    // counts against the configured broker, so that a redirect loop backs off like any other failure.
    const from = this.broker;
    const following = redirect?.broker !== undefined && !wasUp;
    if (redirect && !redirect.moved) redirect.broker = undefined;
    const redirects = redirect?.count ?? 0;
    let target: Reference[] | string = "";
    if (policy === "redirect") {
      const tls = (from as { tls?: boolean }).tls === true;
      target = parseServerReference(info?.serverReference ?? "", from.port, tls);
      if (typeof target !== "string" && redirects >= MAX_REDIRECTS) {
        target = `${redirects} followed in a row without a stable connection`;
      }
      // A reference that cannot be followed is said, not dropped: the diagnostics line names it.
      if (typeof target === "string" && info?.serverReference) note += ` (${target}: not followed)`;
    }
    if (typeof target !== "string") {
      // A URL names its transport (TCP or TLS): it keeps nothing of a WebSocket broker's path.
      const left = target.map((e) => (e.tls === undefined ? { ...from, ...e } : { ...from, path: undefined, ...e }));
      this.redirect = { broker: undefined, moved: false, left, count: redirects + 1 };
      return this.follow(cause, info?.reasonCode === 0x9d, "server reference");
    }
    if (following && policy !== "redirect" && redirect!.left.length > 0) {
      return this.follow(`${cause} at ${hostPort(from)}`, redirect!.moved, "next server reference");
    }
    // The failure counts against the configured broker: of a redirect, only a server moved to that accepted us stays.
    if (redirect?.moved) {
      redirect.left.length = 0;
      redirect.count = 0;
    } else {
      this.redirect = undefined;
    }
    this.failedAttempts++;
    const { cap, base } = this.config;
    const states = this.brokerStates();
    const state = states[this.index]!;
    if (policy === "cap") {
      // The growth state is left alone: once the configuration is fixed, other failures start where they were.
      const wait = this.band(cap, 0.5);
      for (const s of states) s.readyAt = now + wait;
      return this.pick(
        now,
        wait,
        sticky,
        `${cause}: retrying cannot help until the configuration changes, waiting the cap (drawn from ${cap / 2}..${cap} ms)`,
        true,
      );
    }
    const spread = policy === "normal" && !this.looping ? this.spreadCeiling() : 0;
    const grown = spread > 0 ? this.spreadOut(state, spread, brokerWentAway(cause, info), now) : this.grow(state, cap);
    let own = grown;
    if (policy === "busy") {
      // At least the server's hint and BUSY_FACTOR bases, drawn up to half as much again (within the cap).
      const floor = Math.max(grown, BUSY_FACTOR * base, info?.retryAfter ?? 0);
      const top = Math.min(cap, Math.floor(floor * 1.5));
      const low = Math.min(floor, Math.floor((top * 2) / 3));
      own = low + Math.floor(this.source.random() * (top - low));
    }
    state.sleep = Math.max(state.sleep, own);
    state.readyAt = now + own;
    const busy = policy === "busy" ? `, ${hostPort(this.broker)} rests ${own} ms` : "";
    const loop = this.looping ? " (reconnect loop: growing towards the cap)" : "";
    return this.pick(now, grown, sticky, `${cause}${note}${loop}: attempt ${this.failedAttempts}${busy}`);
  }

  /** Dials the next entry of the Server Reference being followed, within `base`. */
  private follow(cause: string, moved: boolean, what: string): Retry<B> {
    const redirect = this.redirect!;
    const broker = redirect.left.shift()!;
    redirect.broker = broker;
    redirect.moved = moved;
    const delay = Math.floor(this.source.random() * this.config.base);
    return {
      delay,
      waitForLink: false,
      broker,
      capped: false,
      reason: `${cause}: ${what} ${hostPort(broker)} in ${delay} ms`,
    };
  }

  /**
   * A failure the fleet may share. The first retry within `base` (one device's path: come back fast); from the
   * second failure on, or at once when the broker itself went away (every device it served is retrying now), on
   * the device's grid: slots one period (`spread - base`, at least `base`) apart at a phase drawn when it joins,
   * never sooner than `base` from now. The grid is kept until a stable connection, so the phases a fleet drew stay
   * spread, and a returning broker meets 1/period of the fleet per second, all of it within one period.
   */
  private spreadOut(s: BrokerState, spread: number, shared: boolean, now: number): number {
    const { base } = this.config;
    s.failures++;
    if (s.failures === 1 && !shared) return Math.floor(this.source.random() * base);
    s.sleep = Math.max(s.sleep, spread);
    const period = Math.max(base, spread - base);
    if (s.slot < 0) {
      // Joining: a phase anywhere in the period (after `base` unless the broker went away: the close was no dial).
      s.slot = now + (shared ? 0 : base) + Math.floor(this.source.random() * period);
    } else {
      s.slot += Math.max(1, Math.ceil((now + base - s.slot) / period)) * period;
    }
    return s.slot - now;
  }

  /** The next delay of the growth, up to the cap; once there, drawn from its upper half. */
  private grow(s: BrokerState, cap: number): number {
    const { base, jitter } = this.config;
    s.failures++;
    if (s.failures === 1) return Math.floor(this.source.random() * base);
    const window =
      jitter === "full" ? base * 2 ** (s.failures - 1) : base + this.source.random() * (s.sleep * 3 - base);
    if (s.sleep >= cap || window >= cap) {
      s.sleep = cap;
      return this.band(cap, 0.5);
    }
    if (jitter === "full") return Math.floor(this.source.random() * window);
    s.sleep = Math.floor(window);
    return s.sleep;
  }

  // The next attempt comes after `wait`, to the first broker in round-robin order (after the current one, or
  // starting with it when `sticky`) that is out of its own backoff by then; if none is, to the one free first.
  private pick(now: number, wait: number, sticky: boolean, why: string, capped = false): Retry<B> {
    const n = this.brokers.length;
    let best = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.index + (sticky ? k : k + 1)) % n;
      const readyAt = this.readyAt(i);
      if (readyAt <= now + wait) {
        best = i;
        break;
      }
      if (best < 0 || readyAt < this.readyAt(best)) best = i;
    }
    const delay = Math.max(wait, this.readyAt(best) - now);
    this.index = best;
    const broker = this.broker;
    return { delay, waitForLink: false, broker, capped, reason: `${why}; ${hostPort(broker)} in ${delay} ms` };
  }

  /** The brokers' growth state, made (each broker in its initial state) by the first failure. */
  private brokerStates(): BrokerState[] {
    const base = this.config.base;
    this.states ??= this.brokers.map(() => ({ failures: 0, sleep: base, readyAt: 0, slot: -1 }));
    return this.states;
  }

  /** When broker `i` may be dialled: at once while it has no growth state. */
  private readyAt(i: number): number {
    return this.states?.[i]?.readyAt ?? 0;
  }
}
