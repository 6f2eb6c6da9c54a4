// What the device publishes itself: messages counted in the statistics, the retained status beacon, and the goodbye
// (offline status, DISCONNECT) before it shuts down or reboots.
import { toBytes } from "tether/app/bytes";
import type { Device } from "tether/app/device";
import type { PublishResult } from "tether/client/client";
import type { QoS } from "tether/mqtt/packets";

/**
 * Publishes through the client and counts the message in the statistics when it was taken. `transient`: never
 * stored for the session (replies, the status), see OutMessage.
 */
export function publish(
  device: Device,
  topic: string,
  text: string,
  qos: QoS,
  retain: boolean,
  properties = device.properties,
  transient = false,
): PublishResult {
  const payload = toBytes(text);
  const result = device.client?.publish(topic, payload, qos, retain, properties, transient) ?? "invalid";
  if (result === "sent" || result === "queued") device.stats.sent(qos, payload.length);
  return result;
}

export function publishStatus(device: Device, online: boolean): void {
  const now = device.host.now();
  const body = online
    ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used })
    : '{"online":false}';
  // Transient: the next status replaces it, and a reboot publishes a new one. Retained, unless the broker keeps no
  // retained messages (MQTT 5 Retain Available 0): then it is a plain message.
  publish(device, device.topics.status, body, 1, device.client?.retainAvailable !== false, device.properties, true);
}

/** The device's goodbye before it goes (a shutdown, a reboot): the offline status, then DISCONNECT. */
export function goodbye(device: Device, reason: string): void {
  const { client } = device;
  if (client?.connected) publishStatus(device, false);
  client?.stop(reason);
}
