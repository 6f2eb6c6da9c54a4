// What the device does with the client's events: log lines, statistics, history, the keep-alive tuner, the beacon
// on connecting, and the commands arriving on the command topic.

import { mqttVersion } from "tether/app/client-config";
import { clip, type Device, failure, TOPIC_SHOWN } from "tether/app/device";
import { publishStatus } from "tether/app/publish";
import { remoteCommand, remoteConnected } from "tether/app/remote";
import { packetFields } from "tether/app/trace";
import { brokerName } from "tether/client/broker";
import type { Client, ClientEvent } from "tether/client/client";
import { PROBE_TAKEN } from "tether/client/connection";
import { DEBUG, INFO } from "tether/diag/log";
import { PACKET_NAMES, PUBREC } from "tether/mqtt/packets";
import { reasonText } from "tether/mqtt/reasons";

/** Where the keep-alive tuner's conclusions are saved. */
export const TUNER_KEY = "ka.tuner";

/** `client.classify` names how a connection ended (not the patterns the diagnoser may add on top). */
export function clientEvent(device: Device, event: ClientEvent, client: Pick<Client, "classify">): void {
  const { log, stats, host, history } = device;
  const now = host.now();
  switch (event.type) {
    case "connecting":
      stats.attempt();
      device.tuner.connecting(event.late ?? 0);
      log.info("mqtt", "connecting", {
        broker: brokerName(event.broker),
        attempt: event.attempt,
        total: stats.attempts,
      });
      return;
    case "resolved":
      log.debug("dns", "resolved", { host: event.broker.host, address: event.address });
      return;
    case "socket":
      // Over WebSocket the time includes the upgrade.
      log.debug(event.broker.path !== undefined ? "ws" : event.broker.tls ? "tls" : "tcp", "connected", {
        ms: event.ms,
      });
      return;
    case "connected": {
      const { rtt } = event;
      stats.connected(now, rtt);
      for (let i = 0; i < event.resent; i++) stats.retransmitted();
      device.tuner.connected(now);
      // The connection number keeps reconnects apart: identical lines would be held back by the rate limit.
      log.info("mqtt", "connected", {
        session: event.sessionPresent ? "resumed" : "new",
        keepalive: event.keepAlive,
        rtt,
        requeued: event.requeued || undefined,
        resent: event.resent || undefined,
        n: stats.successes,
        response_info: event.properties?.responseInformation,
      });
      history.add(now, "connected", `rtt=${rtt}ms`);
      publishStatus(device, true);
      remoteConnected(device);
      return;
    }
    case "closed": {
      if (event.cause.kind === "local") {
        // A will probe the broker took (see Client.probed) is an attempt it accepted: attempts = ok + failed holds.
        if (event.cause.reason === PROBE_TAKEN) stats.probeTaken();
        stats.closed(now);
        log.info("mqtt", "closed", { reason: event.cause.reason });
        return;
      }
      const code = client.classify(event.cause);
      stats.failed(now, code);
      const idle = event.cause.kind === "keepalive_timeout" ? event.idle - event.cause.waited : event.idle;
      const { tuner } = device;
      const conclusions = tuner.conclusions;
      const change = event.uptime >= 0 ? tuner.ended(now, code, idle) : undefined;
      if (change) {
        // Saved when the flash budget allows; else the tuning holds until the next reboot.
        try {
          host.writeSetting(TUNER_KEY, tuner.serialize());
        } catch {}
        device.client?.setKeepAlive(tuner.keepAlive);
        log.warn("keepalive", "tuned", { change });
      }
      // Also when the keep alive is at its lowest already and connections still die at the same idle time.
      const evidence = tuner.conclusions > conclusions ? tuner.natIdleTimeoutSuspected : undefined;
      if (evidence) {
        failure(device, {
          code: "nat_idle_timeout_suspected",
          fields: {
            idle_s: evidence.idle.map((ms) => Math.round(ms / 1000)).join("/"),
            keepalive: evidence.keepAlive,
            configured: evidence.configured,
            below: evidence.belowMin ? "keepAliveMin" : undefined,
            late_ms: evidence.late || undefined,
          },
        });
      }
      return;
    }
    case "waiting":
      if (event.delay < 0) log.warn("link", "waiting", { reason: event.reason });
      else log.info("mqtt", "retry", { in_ms: Math.round(event.delay), reason: event.reason });
      return;
    case "message":
      stats.received(event.publish.qos, event.publish.payload.length);
      if (event.publish.topic === device.topics.cmd) remoteCommand(device, event.publish);
      else
        log.info("mqtt", "message", {
          topic: clip(event.publish.topic, TOPIC_SHOWN),
          qos: event.publish.qos,
          bytes: event.publish.payload.length,
          // MQTT 5: which subscriptions (by their `sub ... id=N`) it matched.
          sub_ids: event.publish.properties?.subscriptionIdentifier?.join(","),
        });
      return;
    case "pong":
      stats.pingRtt(event.rtt);
      log.debug("keepalive", "pong", { rtt: event.rtt });
      return;
    case "queued":
      stats.queue(event.depth);
      // A QoS 1 or 2 message refused for a full queue is lost as surely as a QoS 0 one pushed out.
      if (event.result === "dropped" || event.result === "full") stats.dropped();
      return;
    case "quarantined":
      // Named by the diagnoser (message_quarantined); counted with the messages the device gave up.
      stats.dropped();
      return;
    case "subscribed":
      log.info("mqtt", "subscribed", {
        filters: event.topicFilters.join(","),
        codes: event.reasonCodes.join(","),
        reason_string: event.reasonString,
      });
      return;
    case "unsubscribed":
      // 3.1.1's UNSUBACK carries no reason codes.
      log.info("mqtt", "unsubscribed", {
        id: event.packetId,
        codes: event.reasonCodes.join(",") || undefined,
        reason_string: event.reasonString,
      });
      return;
    case "received":
      log.log(event.reasonCode === 0 && event.reasonString === undefined ? DEBUG : INFO, "mqtt", "ack", {
        packet: "PUBREC",
        id: event.packetId,
        reason: reasonText(event.reasonCode, PUBREC, mqttVersion(device.settings)),
        reason_string: event.reasonString,
      });
      return;
    case "completed": {
      // Refusals are the diagnoser's (publish_denied, or packet_too_large for one the device gave up); a success that
      // says more than "Success" is told here, plain ones at debug level.
      const c = event.completion;
      if (!c.ok) return;
      const plain = c.reasonCode === 0 && event.reasonString === undefined;
      log.log(plain ? DEBUG : INFO, "mqtt", "ack", {
        packet: PACKET_NAMES[event.ack],
        id: c.packetId,
        topic: c.message.topic,
        reason: reasonText(c.reasonCode, event.ack, mqttVersion(device.settings)),
        reason_string: event.reasonString,
      });
      return;
    }
    case "warning":
      log.warn("mqtt", "warning", { message: event.message });
      return;
    case "packet":
      // Every packet its own line, in order: the log's rate limit would hold back a resent one.
      log.record(INFO, "trace", event.direction, packetFields(event.packet, event.size, device.topics.cmd));
      return;
  }
}
