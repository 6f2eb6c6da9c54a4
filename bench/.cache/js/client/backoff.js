const DEFAULT_BASE = 1e3;
const DEFAULT_CAP = 12e4;
const DEFAULT_STABLE = 6e4;
const DEFAULT_JITTER = "decorrelated";
const BUSY_FACTOR = 10;
function causePolicy(cause, reasonCode) {
  switch (reasonCode) {
    case 134:
    case 135:
    case 138:
      return "cap";
    case 136:
    case 137:
    case 151:
    case 159:
      return "busy";
    case 156:
    case 157:
      return "redirect";
  }
  switch (cause) {
    case "bad_credentials":
    case "not_authorized":
      return "cap";
    case "server_unavailable":
    case "server_busy":
    case "quota_exceeded":
      return "busy";
    case "link_down":
      return "link";
    case "server_moved":
      return "redirect";
    default:
      return "normal";
  }
}
function formatBroker(b) {
  return b.host.includes(":") ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}
function parseBrokers(text, defaultPort) {
  const brokers = [];
  for (const item of text.split(/[\s,]+/)) {
    if (item === "") continue;
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(item);
    const port = m?.[3] === void 0 ? defaultPort : Number(m[3]);
    if (!m || !(port >= 1 && port <= 65535))
      return `broker "${item}": expected host, host:port or [ipv6]:port, port 1..65535`;
    brokers.push({ host: m[1] ?? m[2], port });
  }
  return brokers.length > 0 ? brokers : "broker: the list is empty; give at least one host[:port]";
}
function outOfRange(name, value, min, max, integer = true) {
  const ok = (!integer || Number.isInteger(value)) && value >= min && value <= max;
  return ok ? void 0 : `${name} must be ${integer ? "an integer " : ""}from ${min} to ${max} (got ${value})`;
}
function validateBackoff(c, brokers) {
  if (c.jitter !== "full" && c.jitter !== "decorrelated")
    return `backoffJitter must be "full" or "decorrelated" (got "${c.jitter}")`;
  if (brokers.length === 0) return "broker: the list is empty; give at least one host[:port]";
  for (const b of brokers) {
    if (b.host === "" || !(Number.isInteger(b.port) && b.port >= 1 && b.port <= 65535))
      return `broker "${formatBroker(b)}": host must not be empty and port must be 1..65535`;
  }
  return outOfRange("backoffBase (ms)", c.base, 1, 36e5) ?? outOfRange("backoffCap (ms, at least backoffBase)", c.cap, c.base, 864e5) ?? outOfRange("backoffStable (ms)", c.stable, 1e3, 864e5);
}
class Backoff {
  #config;
  #random;
  #brokers;
  #states;
  #index = 0;
  #redirect;
  #connectedAt = -1;
  #attempt = 0;
  /** `random` returns a number in [0, 1), like Math.random; `brokers` are tried in round-robin order. */
  constructor(config, random, brokers) {
    this.#config = config;
    this.#random = random;
    this.#brokers = brokers;
    this.#states = brokers.map(() => ({ failures: 0, sleep: config.base, readyAt: 0 }));
  }
  /** Failed attempts since the last stable connection. */
  get attempt() {
    return this.#attempt;
  }
  /** The broker to dial now: the one the last decision named (the first configured one at start). */
  get broker() {
    return this.#redirect ?? this.#brokers[this.#index];
  }
  /** The broker accepted the connection (CONNACK with success). */
  connected(now) {
    this.#connectedAt = now;
  }
  /** An established connection ended. */
  disconnected(now, cause, info) {
    const up = this.#connectedAt < 0 ? 0 : now - this.#connectedAt;
    const stable = up >= this.#config.stable;
    if (stable) {
      for (const s of this.#states) Object.assign(s, { failures: 0, sleep: this.#config.base, readyAt: 0 });
      this.#attempt = 0;
    }
    return this.#decide(now, cause, info, stable, stable ? ` after ${up} ms up, backoff reset` : "");
  }
  /** An attempt ended before the broker accepted it (TCP, TLS or CONNACK failure). */
  failed(now, cause, info) {
    return this.#decide(now, cause, info, false, "");
  }
  /** The network link is back after a `waitForLink` decision. */
  linkUp(now) {
    return this.#pick(now, Math.floor(this.#random() * this.#config.base), true, "link up");
  }
  #decide(now, cause, info, sticky, note) {
    this.#connectedAt = -1;
    const policy = causePolicy(cause, info?.reasonCode);
    if (policy === "link") {
      return {
        delay: 0,
        waitForLink: true,
        broker: this.broker,
        capped: false,
        reason: `${cause}: waiting for the link`
      };
    }
    const target = policy === "redirect" && !this.#redirect ? parseBrokers(info?.serverReference ?? "", this.broker.port) : "";
    this.#redirect = void 0;
    if (typeof target !== "string") {
      const broker = { ...this.broker, ...target[0] };
      this.#redirect = broker;
      const delay = Math.floor(this.#random() * this.#config.base);
      return {
        delay,
        waitForLink: false,
        broker,
        capped: false,
        reason: `${cause}: server reference ${formatBroker(broker)} in ${delay} ms`
      };
    }
    this.#attempt++;
    const { cap, base } = this.#config;
    const state = this.#states[this.#index];
    const grown = this.#grow(state);
    if (policy === "cap") {
      for (const s of this.#states) s.readyAt = now + cap;
      return this.#pick(
        now,
        cap,
        sticky,
        `${cause}: retrying cannot help until the configuration changes, waiting the cap`,
        true
      );
    }
    const own = policy === "busy" ? Math.min(cap, Math.max(grown, BUSY_FACTOR * base, info?.retryAfter ?? 0)) : grown;
    state.sleep = Math.max(state.sleep, own);
    state.readyAt = now + own;
    const busy = policy === "busy" ? `, ${formatBroker(this.broker)} rests ${own} ms` : "";
    return this.#pick(now, grown, sticky, `${cause}${note}: attempt ${this.#attempt}${busy}`);
  }
  #grow(s) {
    const { base, cap, jitter } = this.#config;
    s.failures++;
    if (s.failures === 1) return Math.floor(this.#random() * base);
    if (jitter === "full") return Math.floor(this.#random() * Math.min(cap, base * 2 ** (s.failures - 1)));
    s.sleep = Math.floor(Math.min(cap, base + this.#random() * (s.sleep * 3 - base)));
    return s.sleep;
  }
  // The next attempt comes after `wait`, to the first broker in round-robin order (after the current one, or
  // starting with it when `sticky`) that is out of its own backoff by then; if none is, to the one free first.
  #pick(now, wait, sticky, why, capped = false) {
    const n = this.#states.length;
    let best = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.#index + (sticky ? k : k + 1)) % n;
      const s = this.#states[i];
      if (s.readyAt <= now + wait) {
        best = i;
        break;
      }
      if (best < 0 || s.readyAt < this.#states[best].readyAt) best = i;
    }
    const delay = Math.max(wait, this.#states[best].readyAt - now);
    this.#index = best;
    const broker = this.broker;
    return { delay, waitForLink: false, broker, capped, reason: `${why}; ${formatBroker(broker)} in ${delay} ms` };
  }
}
export {
  BUSY_FACTOR,
  Backoff,
  DEFAULT_BASE,
  DEFAULT_CAP,
  DEFAULT_JITTER,
  DEFAULT_STABLE,
  causePolicy,
  formatBroker,
  outOfRange,
  parseBrokers,
  validateBackoff
};
