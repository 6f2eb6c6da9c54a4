// Failure codes: the stable names the device prints when it cannot talk to its broker, and how the end of a
// connection maps to one. The drop-in's onClose names its failures with these alone; each code's layer and hint
// (failures.ts) come with the diagnoser, so that a build without it carries none of them.
//
// The rules follow what brokers really answer, not only what the specification allows (checked against
// mosquitto 2.0): mosquitto refuses a wrong password or unknown user with 5 / 0x87, never 4 / 0x86;
// denials by an acl_file are silent; a client-id takeover and a broker shutdown close the socket with no DISCONNECT.

import type { CloseCause } from "tether/client/connection";
import type { TransportError } from "tether/client/transport";
import type { ProtocolVersion } from "tether/mqtt/packets";

export type Code =
  | "link_down"
  | "dns_failed"
  | "tcp_refused"
  | "tcp_timeout"
  | "tcp_reset"
  | "tls_failed"
  | "websocket_failed"
  | "connack_timeout"
  | "protocol_rejected"
  | "client_id_rejected"
  | "server_unavailable"
  | "protocol_error"
  | "packet_too_large"
  | "feature_unsupported"
  | "broker_closed"
  | "server_disconnect"
  | "server_moved"
  | "quota_exceeded"
  | "bad_credentials"
  | "not_authorized"
  | "subscribe_denied"
  | "publish_denied"
  | "session_taken_over"
  | "flapping"
  | "reconnect_loop"
  | "message_quarantined"
  | "message_dropped"
  | "keepalive_timeout"
  | "nat_idle_timeout_suspected"
  | "low_memory";

/**
 * The code for a socket failure. `unreachable` is the link's fault; an orderly close is the broker's (a WebSocket
 * close frame included); a WebSocket failure is the upgrade's, or the broker's frames (protocol_error).
 */
export function classifyNetError(error: TransportError): Code {
  switch (error.code) {
    case "ws":
      return error.detail.startsWith("frame_") ? "protocol_error" : "websocket_failed";
    case "dns":
      return "dns_failed";
    case "refused":
      return "tcp_refused";
    case "timeout":
      return "tcp_timeout";
    case "reset":
      return "tcp_reset";
    case "tls":
      return "tls_failed";
    case "unreachable":
      return "link_down";
    case "closed":
      return "broker_closed";
  }
}

/**
 * The code for a refusing CONNACK (`reasonCode` != 0). `sentUser` tells whether the CONNECT carried a user name:
 * mosquitto answers "not authorized" both to a wrong password and to an anonymous client it does not allow.
 */
export function classifyConnack(version: ProtocolVersion, reasonCode: number, sentUser: boolean): Code {
  if (version === 4) {
    const codes: Code[] = ["protocol_rejected", "client_id_rejected", "server_unavailable", "bad_credentials"];
    return reasonCode === 5
      ? sentUser
        ? "bad_credentials"
        : "not_authorized"
      : (codes[reasonCode - 1] ?? "server_unavailable");
  }
  switch (reasonCode) {
    case 0x81:
    case 0x82:
    case 0x84:
    case 0x90:
    case 0x99:
      return "protocol_rejected";
    case 0x85:
      return "client_id_rejected";
    case 0x86:
    case 0x8c:
      return "bad_credentials";
    case 0x87:
      return sentUser ? "bad_credentials" : "not_authorized";
  }
  return classifyReason(reasonCode) ?? "server_unavailable";
}

/** The code for a DISCONNECT the broker sent (MQTT 5.0). */
export function classifyDisconnect(reasonCode: number): Code {
  switch (reasonCode) {
    case 0x81:
    case 0x82:
      return "protocol_error";
    case 0x87:
      return "not_authorized";
    case 0x8d:
      return "keepalive_timeout";
    case 0x8e:
      return "session_taken_over";
  }
  return classifyReason(reasonCode) ?? "server_disconnect";
}

/** 5.0 reason codes that mean the same in a CONNACK and in a DISCONNECT. */
function classifyReason(reasonCode: number): Code | undefined {
  switch (reasonCode) {
    case 0x8a:
      return "not_authorized";
    case 0x95:
      return "packet_too_large";
    case 0x97:
    case 0x9f:
      return "quota_exceeded";
    case 0x9c:
    case 0x9d:
      return "server_moved";
    // Retain, QoS, Shared Subscriptions, Subscription Identifiers, Wildcard Subscriptions not supported.
    case 0x9a:
    case 0x9b:
    case 0x9e:
    case 0xa1:
    case 0xa2:
      return "feature_unsupported";
  }
  return undefined;
}

/** The failure code for the way a connection ended (not for a local close, which is no failure). */
export function classifyCause(cause: CloseCause, version: ProtocolVersion, sentUser: boolean): Code {
  switch (cause.kind) {
    case "net":
      return classifyNetError(cause.error);
    case "connack":
      return classifyConnack(version, cause.reasonCode, sentUser);
    case "connack_timeout":
      return "connack_timeout";
    case "server_disconnect":
      return classifyDisconnect(cause.reasonCode);
    case "protocol":
      return cause.code === "packet_too_large" ? "packet_too_large" : "protocol_error";
    case "keepalive_timeout":
      return "keepalive_timeout";
    case "local":
      return "broker_closed";
  }
}
