// End to end against one local mosquitto: the same workloads driven by Tether's drop-in Client on Node, by MQTT.js,
// by the drop-in inside XS (the simulator's host) and by mosquitto's own C clients, the ceiling; the four alternate,
// after a warm-up.
import { spawn } from "node:child_process";
import mqtt from "mqtt";
import type { SimDevice } from "../hosts/sim/node/device";
import type { Mosquitto } from "../tools/rigs/mosquitto";
import { NodeHost } from "./node-host";
import { alternate, type Row, within } from "./stats";
import { runWorkload, type Workload, type WorkloadResult } from "./tether-workload";

const PAYLOAD = 64;

interface Case {
  name: string;
  w: Workload;
  /** Goal against MQTT.js on Node, as a ratio. */
  goal?: number;
}

const CASES: Case[] = [
  { name: "QoS 0 delivered to a subscriber", w: work(0, 20000, 0, true), goal: 1.5 },
  { name: "QoS 1 sequential round trips", w: work(1, 2000, 1, false), goal: 1.2 },
  { name: "QoS 2 sequential round trips", w: work(2, 1000, 1, false) },
  { name: "QoS 1 pipelined, window 16", w: work(1, 10000, 16, false), goal: 1.2 },
  { name: "QoS 2 pipelined, window 16", w: work(2, 5000, 16, false) },
];

function work(qos: 0 | 1 | 2, n: number, window: number, unpaced: boolean): Workload {
  return { qos, n, size: PAYLOAD, window, unpaced, timeoutMs: 20000 };
}

/** Messages arrived at the subscriber per second; a run that lost messages counts only what arrived. */
function perSecond(result: WorkloadResult): number {
  return result.ms > 0 ? (result.count * 1000) / result.ms : 0;
}

let runs = 0;
const nextId = () => `r${process.pid}-${++runs}`;

function tetherOnNode(broker: Mosquitto, w: Workload): Promise<number> {
  const host = new NodeHost();
  return new Promise<WorkloadResult>((resolve) =>
    runWorkload(host, { host: "127.0.0.1", port: broker.port, tls: false }, nextId(), w, resolve),
  )
    .then(perSecond)
    .finally(() => host.dispose());
}

async function tetherInXs(device: SimDevice, broker: Mosquitto, w: Workload): Promise<number> {
  const from = device.serialOutput.length;
  device.typeLine(JSON.stringify({ ...w, port: broker.port, id: nextId() }));
  const match = await device.waitForSerial(/result (\{[^\n]*\})\n/, w.timeoutMs + 5000, from);
  return perSecond(JSON.parse(match[1]) as WorkloadResult);
}

/**
 * MQTT.js with the settings of Tether's benchmark client: 3.1.1, clean session, keep alive 60, no reconnects. As for
 * Tether, every message is counted where it arrives at a second client subscribed at QoS 0, and the window is of
 * messages published and not yet arrived there (not of PUBACKs or PUBCOMPs, which Tether's drop-in does not report).
 */
async function mqttJs(broker: Mosquitto, w: Workload): Promise<number> {
  const id = nextId();
  const topic = `bench/${id}`;
  const options = { protocolVersion: 4 as const, clean: true, keepalive: 60, reconnectPeriod: 0 };
  const pub = await mqtt.connectAsync(broker.url, { ...options, clientId: `${id}-pub` });
  const sub = await mqtt.connectAsync(broker.url, { ...options, clientId: `${id}-sub` });
  try {
    await sub.subscribeAsync(topic, { qos: 0 });
    const payload = Buffer.alloc(w.size, 0x61);
    const result = await new Promise<WorkloadResult>((resolve) => {
      const started = performance.now();
      let sent = 0;
      let count = 0;
      let last = started;
      const guard = setTimeout(() => resolve({ count, ms: last - started }), w.timeoutMs);
      const counted = () => {
        count++;
        last = performance.now();
        if (count === w.n) {
          clearTimeout(guard);
          resolve({ count, ms: last - started });
        } else if (!w.unpaced && sent < w.n) publish();
      };
      const publish = () => {
        sent++;
        pub.publish(topic, payload, { qos: w.qos });
      };
      sub.on("message", counted);
      if (w.unpaced) {
        // The same batching as Tether's workload: 500 per turn of the event loop (its 0 ms timer is an immediate).
        const burst = () => {
          for (let i = 0; i < 500 && sent < w.n; i++) publish();
          if (sent < w.n && count < w.n) setImmediate(burst);
        };
        burst();
      } else for (let i = 0; i < w.window && sent < w.n; i++) publish();
    });
    return perSecond(result);
  } finally {
    await Promise.all([pub.endAsync(true), sub.endAsync(true)]);
  }
}

/**
 * mosquitto_pub reading one message per line from stdin (-M sets its in-flight window) and mosquitto_sub printing
 * a nanosecond timestamp per message: the rate is taken between the first and last delivery at the subscriber.
 */
async function mosquittoClients(broker: Mosquitto, w: Workload): Promise<number> {
  const id = nextId();
  const topic = `bench/${id}`;
  const common = ["-h", "127.0.0.1", "-p", String(broker.port), "-t", topic];
  const sub = spawn("mosquitto_sub", [...common, "-i", `${id}-sub`, "-q", "0", "-C", String(w.n), "-F", "%U"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  sub.stdout.on("data", (chunk: Buffer) => {
    out += chunk;
  });
  const subDone = new Promise<void>((resolve) => sub.once("exit", () => resolve()));
  try {
    // mosquitto logs each subscription (log_type subscribe): wait for this one before publishing.
    await waitFor(() => broker.log().includes(`${id}-sub 0 ${topic}`), 5000, "mosquitto_sub subscribed");
    const window = w.unpaced ? 20 : w.window;
    const pub = spawn(
      "mosquitto_pub",
      [...common, "-i", `${id}-pub`, "-q", String(w.qos), "-M", String(window), "-l"],
      {
        stdio: ["pipe", "ignore", "ignore"],
      },
    );
    const line = `${"a".repeat(w.size)}\n`;
    pub.stdin.end(line.repeat(w.n));
    await within(subDone, w.timeoutMs, "mosquitto_sub");
    pub.kill();
  } finally {
    sub.kill();
  }
  // Seconds since the epoch, with nanoseconds.
  const stamps = out.trim().split("\n").map(Number);
  if (stamps.length < 2) return 0;
  return (stamps.length - 1) / (stamps[stamps.length - 1] - stamps[0]);
}

/** Polls a condition that has no event to wait for (a log line of another process); bounded by `ms`. */
async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface E2eOptions {
  reps: number;
  broker: Mosquitto;
  device: SimDevice;
  /** XS through the simulator is slower: its message counts are divided by this. */
  xsScale: number;
  log: (line: string) => void;
}

export async function e2eBench({ reps, broker, device, xsScale, log }: E2eOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of CASES) {
    const xsWork = { ...c.w, n: Math.max(100, Math.round(c.w.n / xsScale)) };
    const [tether, peer, inXs, ceiling] = await alternate(reps, [
      () => tetherOnNode(broker, c.w),
      () => mqttJs(broker, c.w),
      () => tetherInXs(device, broker, xsWork),
      () => mosquittoClients(broker, c.w),
    ]);
    const row: Row = {
      section: "End to end (mosquitto, loopback)",
      name: `${c.name}, ${PAYLOAD} B`,
      unit: "msg/s",
      higherIsBetter: true,
      values: [
        ["Tether (Node)", tether],
        ["MQTT.js", peer],
        ["Tether (XS)", inXs],
        ["mosquitto_pub/sub", ceiling],
      ],
      note:
        `${c.w.n} messages per run (${xsWork.n} in XS); every subject counted at its subscriber (QoS 0)` +
        (c.w.unpaced
          ? "; mosquitto_pub window 20 (its default)"
          : "; mosquitto_pub's window: not yet acknowledged to it, not yet arrived for the others"),
    };
    const ratio = tether.median / peer.median;
    if (c.goal) row.goal = { text: `at least ${c.goal}x MQTT.js`, met: ratio >= c.goal };
    rows.push(row);
    log(
      `  ${c.name}: Tether ${Math.round(tether.median)}, MQTT.js ${Math.round(peer.median)} (${ratio.toFixed(2)}x), ` +
        `XS ${Math.round(inXs.median)}, mosquitto ${Math.round(ceiling.median)}`,
    );
  }
  return rows;
}
