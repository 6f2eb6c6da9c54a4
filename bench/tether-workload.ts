// The end-to-end workloads, written once against the Host interface so that the same code drives Tether's Client on
// Node (bench/node-host.ts) and inside XS (bench/xs/client.ts over the simulator's host). Plain ES2022: it is
// bundled for XS too. Time comes from host.now(), on either side.
import type { Broker } from "tether/client/broker";
import { Client, type ClientConfig, type ClientEvent } from "tether/client/client";
import type { Host } from "tether/host";
import type { QoS } from "tether/mqtt/packets";

export interface Workload {
  qos: QoS;
  /** Messages to publish. */
  n: number;
  /** Payload bytes. */
  size: number;
  /** Publishes in flight at once (QoS 1 and 2); 1 is sequential round trips. */
  window: number;
  /** Count deliveries at a subscriber (QoS 0) rather than completions at the publisher. */
  deliver: boolean;
  /** Gives up after this many ms and reports what was done. */
  timeoutMs: number;
}

export interface WorkloadResult {
  /** Messages delivered (or completed) before the end. */
  count: number;
  /** From the first publish to the last delivery or completion. */
  ms: number;
}

/** The settings of every Tether client in the benchmarks: MQTT 3.1.1, clean session, the firmware's backoff. */
export function benchConfig(broker: Broker, clientId: string, keepAlive: number): ClientConfig {
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

/** Messages published per turn of the event loop when nothing paces the publisher (QoS 0). */
const BATCH = 500;

/** Connects a publisher (and a subscriber when `deliver`), runs the workload, stops both and calls `done` once. */
export function runWorkload(
  host: Host,
  broker: Broker,
  id: string,
  w: Workload,
  done: (result: WorkloadResult) => void,
): void {
  const topic = `bench/${id}`;
  const payload = new Uint8Array(w.size).fill(0x61);
  let started = -1;
  let sent = 0;
  let count = 0;
  let last = 0;
  let finished = false;
  let pubUp = false;
  let subUp = !w.deliver;
  const publish = () => {
    sent++;
    pub.publish(topic, payload, w.qos, false);
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    guard.cancel();
    pub.stop("done");
    sub?.stop("done");
    done({ count, ms: started < 0 ? 0 : last - started });
  };
  const counted = () => {
    count++;
    last = host.now();
    if (count === w.n) finish();
    else if (!w.deliver && sent < w.n) publish();
  };
  const burst = () => {
    for (let i = 0; i < BATCH && sent < w.n; i++) publish();
    if (sent < w.n && !finished) next.schedule(0);
  };
  const begin = () => {
    if (!pubUp || !subUp || started >= 0) return;
    started = host.now();
    if (w.deliver) burst();
    else for (let i = 0; i < w.window && sent < w.n; i++) publish();
  };
  const pub = new Client(host, benchConfig(broker, `${id}-pub`, 60), (event: ClientEvent) => {
    if (event.type === "connected") {
      pubUp = true;
      begin();
    } else if (event.type === "completed") counted();
  });
  const sub = w.deliver
    ? new Client(host, benchConfig(broker, `${id}-sub`, 60), (event: ClientEvent) => {
        if (event.type === "subscribed") {
          subUp = true;
          begin();
        } else if (event.type === "message") counted();
      })
    : undefined;
  const next = host.timer(burst);
  const guard = host.timer(finish);
  guard.schedule(w.timeoutMs);
  sub?.subscribe({ topicFilter: topic, qos: 0 });
  sub?.start();
  pub.start();
}
