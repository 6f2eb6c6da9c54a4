// An MQTT.js peer for tests: it records what it receives and can wait for matching messages.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface Peer {
  client: MqttClient;
  /** The first message received (so far or later) that matches. */
  waitFor(match: (m: Received) => boolean, ms?: number): Promise<Received>;
  /** The first `count` messages that match, once that many have arrived. */
  waitForCount(match: (m: Received) => boolean, count: number, ms?: number): Promise<Received[]>;
}

/** Connects an MQTT.js client (no reconnection; `options` for TLS and the like) that records what it receives. */
export async function peer(url: string, clientId: string, options: IClientOptions = {}): Promise<Peer> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  const seen: Received[] = [];
  const waiters = new Set<() => void>();
  client.on("message", (topic, payload, packet) => {
    seen.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    for (const wake of waiters) wake();
  });
  const waitForCount = (match: (m: Received) => boolean, count: number, ms = 20000) =>
    new Promise<Received[]>((resolve, reject) => {
      const check = () => {
        const found = seen.filter(match);
        if (found.length < count) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found.slice(0, count));
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`fewer than ${count} matching messages within ${ms} ms; got ${JSON.stringify(seen)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  const waitFor = async (match: (m: Received) => boolean, ms = 20000) => (await waitForCount(match, 1, ms))[0];
  return { client, waitFor, waitForCount };
}

export function subscribe(client: MqttClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  return new Promise((resolve, reject) =>
    client.subscribe(topic, { qos }, (error) => (error ? reject(error) : resolve())),
  );
}

/**
 * A peer subscribed to `topic` at `qos`, and the payloads it receives there, in order (the array fills as they come).
 * The caller ends the client.
 */
export async function topicWatcher(
  url: string,
  clientId: string,
  topic: string,
  qos: 0 | 1 | 2,
): Promise<{ client: MqttClient; received: string[] }> {
  const { client } = await peer(url, clientId);
  await subscribe(client, topic, qos);
  return { client, received: collect(client, topic) };
}

/** Collects the payloads a client receives on `topic`, in arrival order. */
export function collect(client: MqttClient, topic: string): string[] {
  const received: string[] = [];
  client.on("message", (t, payload) => {
    if (t === topic) received.push(payload.toString());
  });
  return received;
}
