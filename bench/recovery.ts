// Recovery: how long a client takes to notice a dead link (a blackhole: nothing passes, nothing closes) and to be
// connected again after a broker restart, Tether on Node against MQTT.js with its defaults and with the same keep
// alive. The repetitions run side by side (one client of each kind per repetition, each repetition connected a
// second after the previous one, so the blackhole meets each at a different point of its keep-alive cycle).
import mqtt from "mqtt";
import type { Broker } from "tether/client/broker";
import { Client, type ClientConfig } from "tether/client/client";
import { type Mosquitto, startMosquitto } from "../test/helpers/mosquitto";
import { FaultProxy } from "../tools/rigs/fault-proxy";
import { NodeHost } from "./node-host";
import { type Row, stat, within } from "./stats";

const KEEP_ALIVE = 5;
/** Tether's longest ping timeout is half the keep alive (modules/mqtt/keepalive.ts). */
const DETECTION_GOAL_MS = KEEP_ALIVE * 1500;
/** How long the broker stays down in the restart test. */
const OUTAGE_MS = 2000;

/** Tether's client here: MQTT 3.1.1, clean session, the firmware's backoff. */
function benchConfig(broker: Broker, clientId: string, keepAlive: number): ClientConfig {
  return {
    brokers: [broker],
    clientId,
    version: 4,
    keepAlive,
    cleanStart: true,
    sessionExpiry: 0,
    maxPacketSize: 65536,
    connectTimeout: 5000,
    connackTimeout: 5000,
    backoff: { base: 1000, cap: 120000, stable: 60000, jitter: "decorrelated", spread: 0 },
    queue: { count: 100, bytes: 65536 },
    classify: (cause) => cause.kind,
  };
}

/** One client under test, reporting when its connection closes and when it is connected. */
interface Subject {
  kind: string;
  onClosed(listener: () => void): void;
  onConnected(listener: () => void): void;
  connected: Promise<void>;
  stop(): void;
}

function tether(port: number, id: string): Subject {
  const host = new NodeHost();
  const closed = new Set<() => void>();
  const connected = new Set<() => void>();
  const client = new Client(host, benchConfig({ host: "127.0.0.1", port, tls: false }, id, KEEP_ALIVE), {
    observe: (event) => {
      if (event.type === "closed") for (const listener of closed) listener();
      if (event.type === "connected") for (const listener of connected) listener();
    },
  });
  const up = new Promise<void>((resolve) => connected.add(resolve));
  client.start();
  return {
    kind: "Tether (Node)",
    onClosed: (listener) => closed.add(listener),
    onConnected: (listener) => connected.add(listener),
    connected: up,
    stop() {
      client.stop("done");
      host.dispose();
    },
  };
}

function mqttJs(port: number, id: string, keepalive?: number): Subject {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, keepalive ? { clientId: id, keepalive } : { clientId: id });
  // Errors are part of the test (refused reconnects); the events below are what is measured.
  client.on("error", () => {});
  return {
    kind: keepalive ? `MQTT.js (keep alive ${keepalive} s)` : "MQTT.js (defaults)",
    onClosed: (listener) => client.on("close", listener),
    onConnected: (listener) => client.on("connect", listener),
    connected: new Promise((resolve) => client.once("connect", () => resolve())),
    stop: () => client.end(true),
  };
}

function subjects(port: number, rep: number): Subject[] {
  const id = `rec-${process.pid}-${rep}`;
  return [tether(port, `${id}-t`), mqttJs(port, `${id}-k`, KEEP_ALIVE), mqttJs(port, `${id}-d`)];
}

/** Resolves with the ms from `t0` to the next time `on` fires. */
function timeOf(on: (listener: () => void) => void, t0: () => number): Promise<number> {
  return new Promise((resolve) => {
    let done = false;
    on(() => {
      if (!done && t0() >= 0) {
        done = true;
        resolve(performance.now() - t0());
      }
    });
  });
}

function rowOf(name: string, all: Subject[][], times: number[][], note: string): Row {
  const kinds = all[0].map((s) => s.kind);
  return {
    section: "Recovery",
    name,
    unit: "ms",
    higherIsBetter: false,
    values: kinds.map((kind, k) => [kind, stat(times.map((rep) => rep[k]))]),
    note,
  };
}

/** Connects the repetitions one second apart (the phase spread), all through `proxy`. */
async function connectAll(proxy: FaultProxy, reps: number): Promise<Subject[][]> {
  const all: Subject[][] = [];
  for (let rep = 0; rep < reps; rep++) {
    const group = subjects(proxy.port, rep);
    all.push(group);
    await within(Promise.all(group.map((s) => s.connected)), 10000, "recovery clients connected");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return all;
}

export async function recoveryBench(reps: number, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  let broker: Mosquitto = await startMosquitto();
  const proxy = await FaultProxy.start({ host: "127.0.0.1", port: broker.port });
  let all: Subject[][] = [];
  try {
    // Dead link.
    all = await connectAll(proxy, reps);
    let t0 = -1;
    const detected = all.map((group) => group.map((s) => timeOf(s.onClosed, () => t0)));
    t0 = performance.now();
    proxy.blackhole(true);
    // MQTT.js's default keep alive is 60 s and it gives up after 1.5 of them.
    const times = await within(Promise.all(detected.map((g) => Promise.all(g))), 120000, "dead link detection");
    const row = rowOf(`dead link detected (blackhole), keep alive ${KEEP_ALIVE} s`, all, times, "from the blackhole");
    const worst = row.values[0][1].max;
    row.goal = {
      text: `within keep alive + ping timeout (${DETECTION_GOAL_MS / 1000} s)`,
      met: worst <= DETECTION_GOAL_MS,
    };
    rows.push(row);
    log(`  dead link: ${row.values.map(([k, s]) => `${k} ${Math.round(s.median)} ms`).join(", ")}`);
    for (const s of all.flat()) s.stop();
    all = [];
    proxy.blackhole(false);

    // Broker restart: refused while down, then a fresh mosquitto behind the same address.
    all = await connectAll(proxy, reps);
    let back = -1;
    const reconnected = all.map((group) => group.map((s) => timeOf(s.onConnected, () => back)));
    await proxy.refuse();
    await broker.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    broker = await startMosquitto();
    proxy.retarget({ host: "127.0.0.1", port: broker.port });
    back = performance.now();
    await proxy.accept();
    const again = await within(Promise.all(reconnected.map((g) => Promise.all(g))), 60000, "reconnection");
    const restart = rowOf(
      "reconnected after a broker restart",
      all,
      again,
      `from the broker listening again, after ${OUTAGE_MS / 1000} s down`,
    );
    rows.push(restart);
    log(`  restart: ${restart.values.map(([k, s]) => `${k} ${Math.round(s.median)} ms`).join(", ")}`);
  } finally {
    for (const s of all.flat()) s.stop();
    await proxy.close();
    await broker.stop();
  }
  return rows;
}
