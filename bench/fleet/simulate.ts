// `--simulate`: the real Backoff of every device on a virtual clock, for fleets larger than one machine can run
// (10,000 to 100,000 devices), against a model broker that admits at most `admit` connections per second and
// answers the others "server unavailable" (MQTT 3.1.1 return code 3, 5.0 0x88), as brokers that shed load do.
// Connecting takes no time here: the real runs measure that part.
import { Backoff, type BackoffConfig, type Retry } from "tether/client/backoff";
import type { Endpoint } from "tether/client/broker";
import { deviceSeed, generator } from "../random";
import { type FleetResult, type Recording, type Scenario, summarize } from "./result";

export interface SimulateOptions {
  devices: number;
  scenario: Scenario;
  /** The devices' backoff (from the firmware's settings). */
  backoff: BackoffConfig;
  /** How long the broker is down (broker-restart) or refuses the credentials (auth-outage), ms. */
  outage: number;
  /** Connections the broker admits per second; 0: any number. */
  admit: number;
  /** The policy under test: Tether's Backoff, or MQTT.js's fixed reconnect period (1 s by default). */
  policy: "tether" | "mqttjs";
  /** Four words seeding the run; device seeds are derived from it and never equal (see deviceSeed). */
  seed: Uint32Array;
  /** Stop this long after the origin even if devices are still out, ms. */
  horizon: number;
  /** The settings, for the result. */
  settings: Record<string, string>;
}

/** MQTT.js's `reconnectPeriod` default: a fixed 1 s after every close, no jitter. */
const MQTTJS_PERIOD = 1000;
const BROKER: Endpoint = { host: "simulated", port: 1883 };
/** What the firmware's classifier names each outcome (modules/diag/codes.ts) when the real broker causes it. */
const CLOSED = "broker_closed";
const REFUSED = "tcp_refused";
const BAD_CREDENTIALS = "bad_credentials";
const BUSY = "server_unavailable";

/** A binary min-heap of device indices by time, one pending event per device. */
class Agenda {
  private readonly ids: number[] = [];
  constructor(private readonly at: Float64Array) {}

  push(id: number, time: number): void {
    this.at[id] = time;
    const { ids, at } = this;
    let i = ids.push(id) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[ids[parent]!]! <= time) break;
      ids[i] = ids[parent]!;
      i = parent;
    }
    ids[i] = id;
  }

  time(id: number): number {
    return this.at[id]!;
  }

  pop(): number | undefined {
    const { ids, at } = this;
    const top = ids[0];
    const last = ids.pop();
    if (top === undefined || last === undefined || ids.length === 0) return top;
    let i = 0;
    const time = at[last]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= ids.length) break;
      if (child + 1 < ids.length && at[ids[child + 1]!]! < at[ids[child]!]!) child++;
      if (at[ids[child]!]! >= time) break;
      ids[i] = ids[child]!;
      i = child;
    }
    ids[i] = last;
    return top;
  }
}

interface Policy {
  boot(now: number): number;
  closed(now: number): number;
  failed(now: number, cause: string): number;
  connected(now: number): void;
}

function tetherPolicy(config: BackoffConfig, random: () => number): Policy {
  const b = new Backoff(config, { random }, [BROKER]);
  const delay = (r: Retry) => r.delay;
  return {
    boot: (now) => delay(b.boot(now)),
    closed: (now) => delay(b.disconnected(now, CLOSED)),
    failed: (now, cause) => delay(b.failed(now, cause)),
    connected: (now) => b.connected(now),
  };
}

const mqttjsPolicy: Policy = {
  boot: () => 0,
  closed: () => MQTTJS_PERIOD,
  failed: () => MQTTJS_PERIOD,
  connected: () => {},
};

/**
 * Runs the scenario. broker-restart: the connected fleet loses the broker at 0, which listens again at `outage`.
 * auth-outage: the broker restarts at 0 refusing the credentials until `outage`. power-on: every device boots at
 * 0 with the broker up.
 */
export function simulate(o: SimulateOptions): FleetResult {
  const n = o.devices;
  const origin = o.scenario === "power-on" ? 0 : o.outage;
  const policies: Policy[] = [];
  for (let i = 0; i < n; i++) {
    policies.push(o.policy === "tether" ? tetherPolicy(o.backoff, generator(deviceSeed(o.seed, i))) : mqttjsPolicy);
  }
  const agenda = new Agenda(new Float64Array(n));
  const connectedAt = new Float64Array(n).fill(Number.NaN);
  const attempts: number[] = [];
  const atBroker: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = policies[i]!;
    if (o.scenario === "power-on") agenda.push(i, p.boot(0));
    else {
      // Connected long enough for the backoff to have reset, as a fleet in service is.
      p.connected(-o.backoff.stable);
      agenda.push(i, p.closed(0));
    }
  }
  const end = origin + o.horizon;
  const admitted = new Map<number, number>();
  let last = 0;
  for (let id = agenda.pop(); id !== undefined; id = agenda.pop()) {
    const now = agenda.time(id);
    if (now > end) break;
    last = now;
    attempts.push(now);
    const p = policies[id]!;
    if (o.scenario === "broker-restart" && now < o.outage) {
      agenda.push(id, now + p.failed(now, REFUSED));
      continue;
    }
    atBroker.push(now);
    if (o.scenario === "auth-outage" && now < o.outage) {
      agenda.push(id, now + p.failed(now, BAD_CREDENTIALS));
      continue;
    }
    const second = Math.floor(now / 1000);
    const used = admitted.get(second) ?? 0;
    if (o.admit > 0 && used >= o.admit) {
      agenda.push(id, now + p.failed(now, BUSY));
      continue;
    }
    admitted.set(second, used + 1);
    p.connected(now);
    connectedAt[id] = now;
  }
  const recording: Recording = {
    attempts,
    atBroker,
    connectedAt,
    disruption: 0,
    origin,
    marks:
      o.scenario === "power-on" ? [] : [{ name: o.scenario === "auth-outage" ? "auth broken" : "broker down", at: 0 }],
  };
  const notes = [
    `virtual clock; broker admits ${o.admit > 0 ? `${o.admit} connections per second, answers the rest "server unavailable"` : "every connection"}; connecting takes no time`,
  ];
  return summarize(
    {
      mode: "simulated",
      client: o.policy === "tether" ? "Tether" : "MQTT.js 5 (reconnectPeriod 1 s)",
      scenario: o.scenario,
      broker: "model",
      settings: o.settings,
      notes,
    },
    recording,
    Math.max(last, origin) + 1000,
  );
}
