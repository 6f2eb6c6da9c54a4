// A chaos run's plan, drawn from one seed: the broker's capabilities (what mosquitto is configured to allow), the
// device's build-time settings and a sequence of operations (console and remote commands, reboots, link faults,
// password changes). Pure and deterministic: the same seed gives the same plan, so a failing seed reproduces, and a
// plan is plain JSON, so a failing one can be saved, trimmed by hand and replayed (`npm run chaos -- --plan FILE`).

import { generator } from "../../bench/random";

export type QoS = 0 | 1 | 2;

/** What mosquitto allows, from its configuration. */
export interface BrokerPlan {
  /** `retain_available false`: a retained PUBLISH is refused (MQTT 5: DISCONNECT 0x9A; 3.1.1: the socket closes). */
  retainAvailable: boolean;
  /** `max_qos`: the highest QoS the broker takes. */
  maxQos: QoS;
  /** `max_packet_size`, bytes (0: mosquitto's default, no limit). */
  maxPacketSize: number;
  /** `max_inflight_messages`: how many QoS 1/2 messages mosquitto sends the device before it answers. */
  maxInflight: number;
  /** An acl_file that denies the device the topics under `chaos/deny/`. */
  acl: boolean;
}

/** A link fault through the fault proxy (or the device's own link). */
export type Fault =
  | { kind: "refuse" }
  | { kind: "reset" }
  | { kind: "blackhole" }
  | { kind: "cut"; bytes: number }
  | { kind: "natIdle"; ms: number }
  | { kind: "connackCut"; ms: number }
  | { kind: "slow"; delay: number; rate: number }
  | { kind: "linkDown" };

export type Op =
  /** A publish on the serial console (`pub`) or on the command topic (`pub` allowed in remoteCommands). */
  | { op: "pub"; via: "serial" | "remote"; topic: string; size: number; qos: QoS; retain: boolean }
  | { op: "sub"; filter: string; qos: QoS }
  | { op: "unsub"; filter: string }
  | { op: "config"; key: string; value: string }
  | { op: "reconnect"; via: "serial" | "remote" }
  /** Power cut (kill) or polite shutdown, then a boot on the same storage. */
  | { op: "reboot"; how: "kill" | "shutdown" }
  /** A read-only command on the command topic. */
  | { op: "remote"; command: string }
  /** The peer publishes `count` messages at `qos` to `inbound/<n>`, which the device may have subscribed to. */
  | { op: "inbound"; count: number; qos: QoS; size: number }
  | { op: "fault"; fault: Fault }
  /** Every fault ends: the proxy passes everything, the link is up, the device's password is the broker's. */
  | { op: "heal" }
  /** The broker's password for the device changes (the device keeps the old one until healed). */
  | { op: "password" }
  | { op: "wait"; ms: number };

export interface Plan {
  seed: number;
  broker: BrokerPlan;
  /** The device's build-time settings (the simulator's config), besides the broker URL and credentials. */
  device: Record<string, string>;
  ops: Op[];
}

/**
 * Kinds of trouble a plan may hold, each of which can be left out: hostile characters in topics (controls,
 * non-characters, lone surrogates); settings that are accepted but cannot work (a prefix with a control, a
 * maxPacketSize too small for the device's own CONNECT); broker limits (no retain, a lower max_qos, a
 * max_packet_size, a large max_inflight_messages); an ACL that denies topics; `reconnect` on the command topic;
 * password changes. The bounded run of `npm test` leaves out those whose fixes have not landed yet.
 */
export const HAZARDS = [
  "hostileTopics",
  "hostileSettings",
  "brokerLimits",
  "acl",
  "remoteReconnect",
  "passwords",
] as const;
export type Hazard = (typeof HAZARDS)[number];

export interface PlanOptions {
  /** How many operations (default 30). */
  ops?: number;
  /** The hazards a plan may hold (default: all of them). */
  hazards?: readonly Hazard[];
}

/** The device's backoff in every plan: the invariants' bounds are derived from it. */
export const BACKOFF = { backoffBase: "1000", backoffCap: "8000", backoffSpread: "0" };
export const CONNECT_TIMEOUT = 3000;

/** Topics the device is denied when the plan has an ACL. */
export const DENIED = "chaos/deny/";

/** Random choices over one seeded generator. */
export class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    // Four words from the seed through a simple mix, so that nearby seeds give unrelated sequences.
    const words = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9 + i) >>> 0;
      words[i] = x;
    }
    this.next = generator(words);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** One of `weighted`'s keys, with probability proportional to its weight. */
  weighted<K extends string>(weighted: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weighted) as [K, number][];
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, weight] of entries) {
      r -= weight;
      if (r < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}

/**
 * Topic levels a hostile or careless sender uses: plain ones, wide characters, controls, a non-character, lone
 * surrogates, spaces, the wildcards (which a topic name may not hold), empty levels, very long ones.
 */
function level(r: Random, hostile: boolean): string {
  const odd = hostile ? 1 : 0;
  switch (
    r.weighted({ plain: 8, unicode: 2, control: odd, nonchar: odd, surrogate: odd, space: 1, wildcard: 1, long: 1 })
  ) {
    case "plain":
      return r.pick(["a", "b", "c", "temp", "x1", "data", "s-1", "t_2"]);
    case "unicode":
      return r.pick(["é", "温度", "😀", "ñandú", "Ω"]);
    case "control":
      return `t${String.fromCharCode(r.pick([1, 7, 9, 10, 13, 27, 127, 0x85]))}x`;
    case "nonchar":
      return r.pick(["\uffff", "\ufffe", "a\ufdd0"]);
    case "surrogate":
      return r.pick(["\ud800", "x\udfff", "\udc00y"]);
    case "space":
      return r.pick(["a b", " ", "x y z"]);
    case "wildcard":
      return r.pick(["+", "#", "a+", "b#"]);
    default:
      return "l".repeat(r.int(100, 3000));
  }
}

function topic(r: Random, acl: boolean, hostile: boolean): string {
  const root = acl && r.chance(0.15) ? DENIED.slice(0, -1) : "chaos";
  const levels = [root];
  for (let n = r.int(1, 3); n > 0; n--) levels.push(r.chance(0.1) ? "" : level(r, hostile));
  return levels.join("/");
}

function filter(r: Random): string {
  return r.pick(["inbound/#", "inbound/+", "inbound/1", "chaos/#", "x/+/y", "inbound/\u0001", "+/+", "#"]);
}

/** Settings a user might set, good values and bad: each must be taken or refused with one line, never loop. */
function configOp(r: Random, hostile: boolean): Op {
  const choices: [string, string[]][] = [
    ["keepAlive", ["5", "10", "20", "0", "70000"]],
    ["topicPrefix", ["tether", "dev", "$x", "a/b", "ok", ...(hostile ? ["te\u0001ther", "t\uffff"] : [])]],
    ["maxPacketSize", ["1000", "16384", "20", ...(hostile ? ["64", "128"] : [])]],
    ["cleanSession", ["0", "1"]],
    ["sessionExpiry", ["0", "60", "3600"]],
    ["maxInflight", ["1", "2", "20"]],
    ["queueCount", ["1", "5", "100"]],
    ["mqttVersion", ["3.1.1", "5"]],
    ["beaconInterval", ["0", "2", "30"]],
  ];
  const [key, values] = r.pick(choices);
  return { op: "config", key, value: r.pick(values) };
}

function fault(r: Random): Fault {
  switch (r.weighted({ refuse: 2, reset: 2, blackhole: 1, cut: 1, natIdle: 1, connackCut: 1, slow: 1, link: 2 })) {
    case "refuse":
      return { kind: "refuse" };
    case "reset":
      return { kind: "reset" };
    case "blackhole":
      return { kind: "blackhole" };
    case "cut":
      return { kind: "cut", bytes: r.int(0, 40) };
    case "natIdle":
      return { kind: "natIdle", ms: r.int(1500, 6000) };
    case "connackCut":
      return { kind: "connackCut", ms: r.int(0, 1500) };
    case "slow":
      return { kind: "slow", delay: r.int(50, 400), rate: r.pick([0, 2000, 20000]) };
    default:
      return { kind: "linkDown" };
  }
}

/** Draws a plan from `seed`. */
export function makePlan(seed: number, options: PlanOptions = {}): Plan {
  const r = new Random(seed);
  const hazards = new Set(options.hazards ?? HAZARDS);
  const limits = hazards.has("brokerLimits");
  const version = r.pick(["3.1.1", "5"]);
  const broker: BrokerPlan = {
    retainAvailable: !limits || r.chance(0.7),
    maxQos: limits ? ({ q2: 2, q1: 1, q0: 0 } as const)[r.weighted({ q2: 6, q1: 2, q0: 1 })] : 2,
    maxPacketSize: limits ? r.pick([0, 0, 0, 2000, 200]) : 0,
    // A 3.1.1 broker cannot announce its limit: below the device's maxInflight it drops messages (invariants.ts).
    maxInflight: limits ? r.pick([20, 20, 1, 100]) : version === "5" ? r.pick([20, 1]) : 20,
    acl: hazards.has("acl") && r.chance(0.5),
  };
  const device: Record<string, string> = {
    ...BACKOFF,
    mqttVersion: version,
    cleanSession: r.chance(0.3) ? "1" : "0",
    sessionExpiry: r.pick(["0", "600", "600"]),
    keepAlive: r.pick(["5", "10", "20"]),
    beaconInterval: r.pick(["0", "5", "30"]),
    // The harness reads the packet trace on serial (what the device really sent and got): the serial budget would
    // thin it out.
    serialBudget: "0",
    connectTimeout: String(CONNECT_TIMEOUT),
    connackTimeout: String(CONNECT_TIMEOUT),
    remoteCommands: r.chance(0.8) ? "status,help,reconnect,pub,config" : "status,help",
  };
  if (r.chance(0.2)) device.maxPacketSize = "100000";
  const ops: Op[] = [];
  let faulty = false;
  const count = options.ops ?? 30;
  while (ops.length < count) {
    const kind = r.weighted({
      pub: 10,
      sub: 2,
      unsub: 1,
      config: 1,
      reconnect: 1,
      reboot: 1,
      remote: 1,
      inbound: 1,
      fault: faulty ? 1 : 2,
      heal: faulty ? 3 : 0,
      password: hazards.has("passwords") ? 0.5 : 0,
      wait: 2,
    });
    switch (kind) {
      case "pub": {
        const big = r.chance(0.15);
        const size = big ? r.int(200, 5000) : r.int(0, 60);
        // A console line holds 256 characters: large ones go over the command topic.
        const via = big || r.chance(0.2) ? "remote" : "serial";
        ops.push({
          op: "pub",
          via,
          topic: topic(r, broker.acl, hazards.has("hostileTopics")),
          size,
          qos: r.pick([0, 1, 1, 2, 2] as const),
          retain: r.chance(0.2),
        });
        break;
      }
      case "sub":
        ops.push({ op: "sub", filter: filter(r), qos: r.pick([0, 1, 2] as const) });
        break;
      case "unsub":
        ops.push({ op: "unsub", filter: filter(r) });
        break;
      case "config":
        ops.push(configOp(r, hazards.has("hostileSettings")));
        break;
      case "reconnect":
        ops.push({ op: "reconnect", via: hazards.has("remoteReconnect") && r.chance(0.5) ? "remote" : "serial" });
        break;
      case "reboot":
        ops.push({ op: "reboot", how: r.chance(0.6) ? "kill" : "shutdown" });
        break;
      case "remote":
        ops.push({ op: "remote", command: r.pick(["status", "help", "stats", "config get keepAlive"]) });
        break;
      case "inbound":
        ops.push({ op: "inbound", count: r.int(1, 40), qos: r.pick([0, 1, 2] as const), size: r.int(0, 3000) });
        break;
      case "fault":
        ops.push({ op: "fault", fault: fault(r) });
        faulty = true;
        break;
      case "heal":
        ops.push({ op: "heal" });
        faulty = false;
        break;
      case "password":
        ops.push({ op: "password" });
        faulty = true;
        break;
      default:
        ops.push({ op: "wait", ms: r.int(200, 3000) });
    }
  }
  return { seed, broker, device, ops };
}

/** One line per operation, as the repro prints them. */
export function describeOp(op: Op): string {
  switch (op.op) {
    case "pub":
      return `pub via=${op.via} topic=${JSON.stringify(op.topic.length > 80 ? `${op.topic.slice(0, 80)}...(${op.topic.length})` : op.topic)} bytes=${op.size} qos=${op.qos}${op.retain ? " retain" : ""}`;
    case "fault":
      return `fault ${JSON.stringify(op.fault)}`;
    default: {
      const { op: name, ...rest } = op;
      return [name, ...Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(" ");
    }
  }
}
