// An MQTT.js peer for tests: it records what it receives and can wait for a matching message.
import mqtt, { type MqttClient } from "mqtt";

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** An MQTT.js peer that records what it receives and can wait for a matching message. */
export async function peer(
  url: string,
  clientId: string,
): Promise<{ client: MqttClient; waitFor: (match: (m: Received) => boolean, ms?: number) => Promise<Received> }> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0 });
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
  const waitFor = (match: (m: Received) => boolean, ms = 10000) =>
    new Promise<Received>((resolve, reject) => {
      const check = () => {
        const found = seen.find(match);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching message within ${ms} ms; got ${JSON.stringify(seen)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { client, waitFor };
}

export function subscribe(client: MqttClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  return new Promise((resolve, reject) =>
    client.subscribe(topic, { qos }, (error) => (error ? reject(error) : resolve())),
  );
}
