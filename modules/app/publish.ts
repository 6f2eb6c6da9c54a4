// What the device publishes itself: messages counted in the statistics, and the retained status beacon.

import type { Device } from "tether/app/device";
import type { PublishResult } from "tether/client/client";
import { toBytes } from "tether/mqtt/bytes";
import type { QoS } from "tether/mqtt/packets";

/** Publishes through the client and counts the message in the statistics when it was taken. */
export function publish(
  device: Device,
  topic: string,
  text: string,
  qos: QoS,
  retain: boolean,
  properties = device.properties,
): PublishResult {
  const payload = toBytes(text);
  const result = device.client?.publish(topic, payload, qos, retain, properties) ?? "invalid";
  if (result === "sent" || result === "queued") device.stats.sent(qos, payload.length);
  return result;
}

export function publishStatus(device: Device, online: boolean): void {
  const now = device.host.now();
  const body = online
    ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used })
    : '{"online":false}';
  publish(device, device.topics.status, body, 1, true);
}
