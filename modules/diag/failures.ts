// Each failure code's layer and hint for the field engineer reading the serial port. The same table generates
// docs/troubleshooting.md (scripts/troubleshooting.ts, which adds the prose of scripts/troubleshooting-causes.ts),
// so the doc and the device never disagree, and the device carries only the one-line hints. Part of the diagnoser
// (hosts/moddable/manifest_diagnose.json): a drop-in without it names its failures (codes.ts) without hints.
//
// The hints follow what brokers really answer (checked against mosquitto 2.0): see codes.ts.

import type { Code } from "tether/diag/codes";
import { ERROR, type Fields, type Level, WARN } from "tether/diag/log";
import { frozen } from "tether/mqtt/frozen";

export type Layer =
  | "link"
  | "dns"
  | "tcp"
  | "tls"
  | "websocket"
  | "mqtt"
  | "auth"
  | "session"
  | "keepalive"
  | "resource";

export interface FailureInfo {
  code: Code;
  layer: Layer;
  /** What to check first; printed on the device's failure line, so one line. */
  hint: string;
}

/** In the order of the layers, bottom up: the order of the doc. */
export const FAILURES: readonly FailureInfo[] = frozen<FailureInfo>([
  {
    code: "link_down",
    layer: "link",
    hint: "check Wi-Fi: the ssid/password settings, signal strength and the access point; the device reconnects when the link returns",
  },
  {
    code: "dns_failed",
    layer: "dns",
    hint: "check the host name in the broker setting (spelling) and the network's DNS server; try the broker's IP address to confirm",
  },
  {
    code: "tcp_refused",
    layer: "tcp",
    hint: "check the port in the broker setting (1883 plain, 8883 TLS) and that the broker runs and listens on the network, not only on localhost",
  },
  {
    code: "tcp_timeout",
    layer: "tcp",
    hint: "nothing answers at that address: check the IP/host in the broker setting, firewalls that drop the port, and routing from the device's network",
  },
  {
    code: "tcp_reset",
    layer: "tcp",
    hint: "the broker or a firewall/NAT/load balancer reset the connection: check the broker's log at that time and idle timeouts on the path",
  },
  {
    code: "tls_failed",
    layer: "tls",
    hint: "TLS failed, see detail: unknown_ca: add the broker's CA; expired: cert dates or device clock; name_mismatch: host vs cert; missing_intermediate, leaf_only: broker must send its chain",
  },
  {
    code: "websocket_failed",
    layer: "websocket",
    hint: "WebSocket upgrade failed, see detail: no_response: not a WebSocket listener; http_404: check the path in the broker URL (often /mqtt); bad_accept/subprotocol: not an MQTT WebSocket server",
  },
  {
    code: "connack_timeout",
    layer: "mqtt",
    hint: "TCP works but no MQTT answer: check the port is an MQTT listener (a WebSocket one needs ws://, not HTTP), mqtt:// vs mqtts:// matches it, and the broker's log",
  },
  {
    code: "protocol_rejected",
    layer: "mqtt",
    hint: "the broker does not accept this MQTT version or CONNECT: set mqttVersion=3.1.1, or upgrade the broker",
  },
  {
    code: "client_id_rejected",
    layer: "mqtt",
    hint: "the broker refused clientId: use 1-23 letters and digits, unique per device; an empty id needs a clean session and a broker that allows it",
  },
  {
    code: "server_unavailable",
    layer: "mqtt",
    hint: "the broker is up but refuses service right now: check its log and load; the device retries with backoff",
  },
  {
    code: "protocol_error",
    layer: "mqtt",
    hint: "MQTT bytes did not make sense: check nothing but an MQTT broker answers on that port (proxy, captive portal, HTTP); report with the broker's name and version",
  },
  {
    code: "packet_too_large",
    layer: "mqtt",
    hint: "a message is larger than the broker or the device allows: shorten the payload, or raise the limit (mosquitto message_size_limit / max_packet_size)",
  },
  {
    code: "feature_unsupported",
    layer: "mqtt",
    hint: "the broker lacks a feature used (retain, a QoS, wildcard/shared subscriptions): the device does without, see its warning; or enable it (mosquitto retain_available, max_qos)",
  },
  {
    code: "broker_closed",
    layer: "mqtt",
    hint: "the broker hung up without saying why: check its log at that time (restart, max_connections, another client with the same clientId, a rejected packet)",
  },
  {
    code: "server_disconnect",
    layer: "mqtt",
    hint: "the broker ended the session and said why: read reason and reason_string; 0x8B is a broker shutdown, 0x98 an administrator's action",
  },
  {
    code: "server_moved",
    layer: "mqtt",
    hint: "the broker sends this device elsewhere (0x9C use another server, 0x9D moved); the device follows server_reference once: put it into the broker setting",
  },
  {
    code: "quota_exceeded",
    layer: "mqtt",
    hint: "the broker rate-limits this client (0x97 quota, 0x9F reconnecting too often): publish less often, raise backoffBase, check the broker's limits",
  },
  {
    code: "bad_credentials",
    layer: "auth",
    hint: "check mqttUser/mqttPassword; mosquitto answers 5 (3.1.1) / 0x87 (5.0) for a wrong password or unknown user",
  },
  {
    code: "not_authorized",
    layer: "auth",
    hint: "the broker refuses this client: mosquitto 2.x refuses anonymous clients by default (allow_anonymous false): set mqttUser/mqttPassword",
  },
  {
    code: "subscribe_denied",
    layer: "auth",
    hint: "the broker refused the subscription: check the user's ACL for that topic; note mosquitto's acl_file denies silently (SUBACK granted, nothing arrives)",
  },
  {
    code: "publish_denied",
    layer: "auth",
    hint: "the broker refused a message: check the user's publish ACL for the topic; with MQTT 3.1.1 denials are silent (the message is dropped)",
  },
  {
    code: "session_taken_over",
    layer: "session",
    hint: "another device or program uses the same clientId: make clientId unique per device; the broker's log says 'already connected, closing old connection'",
  },
  {
    code: "flapping",
    layer: "session",
    hint: "connections keep ending soon after they start: at the same uptime each time, a firewall/proxy/load balancer on the path cuts them; else run history to see how each ended",
  },
  {
    code: "reconnect_loop",
    layer: "session",
    hint: "connections keep ending the same way with nothing delivered: the device backs off towards backoffCap; read the lines before this one and history for what ends them",
  },
  {
    code: "message_quarantined",
    layer: "session",
    hint: "the broker closed the connection after this message twice, so it was dropped rather than resent for ever: check the broker's log and limits (size, topic, ACL)",
  },
  {
    code: "message_dropped",
    layer: "session",
    hint: "queued QoS 1/2 messages held in RAM only are lost to this reboot; reason: no_session (no session kept), no_slot, too_large (~1 KB), properties (MQTT 5), store_refused (flashBudget)",
  },
  {
    code: "keepalive_timeout",
    layer: "keepalive",
    hint: "the broker stopped answering pings: the path drops traffic silently (Wi-Fi, NAT/firewall, overloaded broker); if it happens after the same idle time, lower keepAlive",
  },
  {
    code: "nat_idle_timeout_suspected",
    layer: "keepalive",
    hint: "a NAT/firewall forgets connections idle that long: the device lowers keepAlive down to keepAliveMin itself; below that, lower keepAliveMin or publish more often",
  },
  {
    code: "low_memory",
    layer: "resource",
    hint: "memory is nearly exhausted: reduce the offline queue and message sizes, subscribe to fewer topics; TLS needs tens of KB free",
  },
]);

export function failureInfo(code: Code): FailureInfo {
  return FAILURES.find((entry) => entry.code === code)!;
}

/**
 * The level of a code's failure line `<uptime> <E|W> diag <code> <details> hint=...`: an error for what only a
 * person can fix (credentials, certificates), a warning for what may pass by itself on a retry.
 */
export function failureLevel(info: FailureInfo): Level {
  return info.layer === "auth" || info.layer === "tls" || info.layer === "websocket" ? ERROR : WARN;
}

/** A finding's failure line, what the firmware and the drop-in print alike: its level, its facts and then the hint. */
export function failureLine(code: Code, facts: Fields): { level: Level; fields: Fields } {
  const info = failureInfo(code);
  return { level: failureLevel(info), fields: { ...facts, hint: info.hint } };
}
