// The end-to-end workloads, written once against the Host interface so that the same code drives Tether on Node
// (bench/node-host.ts) and inside XS (bench/xs/client.ts over the simulator's host). Plain ES2022: it is bundled for
// XS too. Time comes from host.now(), on either side.
//
// Both clients are the drop-in Client of modules/compat/mqtt.ts, the API applications call (Moddable's): topic
// validation, a copy of each payload, diagnostics, callbacks from a timer. It reports no PUBACK or PUBCOMP, as
// Moddable's module reports none, so every message is counted where it arrives: at a subscriber on the same topic.
import type { Broker } from "tether/client/broker";
import { bindClient } from "tether/compat/mqtt";
import type { Host } from "tether/host";
import type { QoS } from "tether/mqtt/packets";

export interface Workload {
  qos: QoS;
  /** Messages to publish. */
  n: number;
  /** Payload bytes. */
  size: number;
  /**
   * Messages published and not yet arrived at the subscriber, at most (QoS 1 and 2): the next is published when one
   * arrives; 1 is sequential round trips, publisher to broker to subscriber.
   */
  window: number;
  /** Published in batches of 500 per turn of the event loop, without pacing (QoS 0); otherwise `window` at a time. */
  unpaced: boolean;
  /** Gives up after this many ms and reports what was done. */
  timeoutMs: number;
}

export interface WorkloadResult {
  /** Messages that arrived at the subscriber before the end. */
  count: number;
  /** From the first publish to the last arrival. */
  ms: number;
}

/** Messages published per turn of the event loop when nothing paces the publisher (QoS 0). */
const BATCH = 500;

/**
 * Connects a publisher and a subscriber, runs the workload, closes both and calls `done` once. The subscriber
 * publishes one probe to the topic once connected: it comes back after its own SUBSCRIBE, on the same connection,
 * so its arrival says the subscription is in place; the workload starts then.
 */
export function runWorkload(
  host: Host,
  broker: Broker,
  id: string,
  w: Workload,
  done: (result: WorkloadResult) => void,
): void {
  const MqttClient = bindClient(host);
  const topic = `bench/${id}`;
  const payload = new Uint8Array(w.size).fill(0x61).buffer;
  const flags = { quality: w.qos };
  const options = { host: broker.host, port: broker.port, keepAlive: 60, reconnect: false };
  let started = -1;
  let sent = 0;
  let count = 0;
  let last = 0;
  let finished = false;
  let pubUp = false;
  let subUp = false;
  const publish = () => {
    sent++;
    pub.publish(topic, payload, flags);
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    guard.cancel();
    next.cancel();
    pub.close();
    sub.close();
    done({ count, ms: started < 0 ? 0 : last - started });
  };
  const counted = () => {
    count++;
    last = host.now();
    if (count === w.n) finish();
    else if (!w.unpaced && sent < w.n) publish();
  };
  const burst = () => {
    for (let i = 0; i < BATCH && sent < w.n; i++) publish();
    if (sent < w.n && !finished) next.schedule(0);
  };
  const begin = () => {
    if (!pubUp || !subUp || started >= 0) return;
    started = host.now();
    if (w.unpaced) burst();
    else for (let i = 0; i < w.window && sent < w.n; i++) publish();
  };
  const pub = new MqttClient({ ...options, id: `${id}-pub` });
  pub.onReady = () => {
    pubUp = true;
    begin();
  };
  const sub = new MqttClient({ ...options, id: `${id}-sub` });
  sub.subscribe(topic, 0);
  sub.onReady = () => sub.publish(topic, "probe");
  sub.onMessage = () => {
    if (started >= 0) counted();
    else if (!subUp) {
      subUp = true;
      begin();
    }
  };
  const next = host.timer(burst);
  const guard = host.timer(finish);
  guard.schedule(w.timeoutMs);
}
