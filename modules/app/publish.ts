// What the device publishes itself: messages counted in the statistics, the retained status beacon, and the goodbye
// (offline status, DISCONNECT) before it shuts down or reboots.
import type { Device } from "tether/app/device";
import type { PublishResult } from "tether/client/client";
import { toBytes } from "tether/mqtt/bytes";
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

/**
 * The retained status, transient (never stored: the next status replaces it, and a reboot publishes a new one).
 * Online at QoS 1. Offline (at shutdown, just before the DISCONNECT) at QoS 0: a QoS 1 message is kept in the
 * session until its PUBACK, which a device shutting down does not wait for; it was resent at the next boot, or at
 * the next start(), so subscribers saw a stale offline just before online. At QoS 0 it is kept nowhere, and it is no
 * less sure: it precedes the DISCONNECT on the same connection, which the broker reads in order, and if the
 * connection dies first, no DISCONNECT arrives and the broker publishes the will, the same offline.
 */
export function publishStatus(device: Device, online: boolean): void {
  const now = device.host.now();
  const body = online
    ? JSON.stringify({ online: true, ...device.stats.beacon(now), heap: device.host.heap().used })
    : '{"online":false}';
  // Retained, unless the broker keeps no retained messages (MQTT 5 Retain Available 0): then a plain message.
  publish(
    device,
    device.topics.status,
    body,
    online ? 1 : 0,
    device.client?.retainAvailable !== false,
    device.properties,
    true,
  );
}

/**
 * The device's goodbye before it goes (a shutdown, a reboot): the offline status, then DISCONNECT; and the log's
 * held-back copies told, so that a saved log counts what the device counted.
 */
export function goodbye(device: Device, reason: string): void {
  const { client } = device;
  device.log.tick(device.host.now(), true);
  if (client?.connected) publishStatus(device, false);
  // Named before the DISCONNECT, whose trace would bury it: what the waiting queue holds in RAM only is lost now.
  client?.leaving();
  client?.stop(reason);
}
