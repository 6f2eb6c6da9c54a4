// Reason codes: MQTT 5.0 spec 2.4 (with the packets each may appear in) and the 3.1.1 CONNACK and SUBACK return
// codes. The codec uses the packet sets to refuse a code the spec does not allow; diagnostics use the names.
import type { ProtocolVersion } from "tether/mqtt/packets";

const CONNACK = 1 << 2;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBACK = 1 << 9;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const PUB = PUBACK | PUBREC;
const ERRORS = CONNACK | PUB | SUBACK | UNSUBACK | DISCONNECT;

/** [code, name, packets (bit 1 << packet type)]. Codes 0 to 2 have other names in some packets: see `name5`. */
const TABLE: readonly (readonly [number, string, number])[] = [
  [0x00, "Success", CONNACK | PUB | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH],
  [0x01, "Granted QoS 1", SUBACK],
  [0x02, "Granted QoS 2", SUBACK],
  [0x04, "Disconnect with Will Message", DISCONNECT],
  [0x10, "No matching subscribers", PUB],
  [0x11, "No subscription existed", UNSUBACK],
  [0x18, "Continue authentication", AUTH],
  [0x19, "Re-authenticate", AUTH],
  [0x80, "Unspecified error", ERRORS],
  [0x81, "Malformed Packet", CONNACK | DISCONNECT],
  [0x82, "Protocol Error", CONNACK | DISCONNECT],
  [0x83, "Implementation specific error", ERRORS],
  [0x84, "Unsupported Protocol Version", CONNACK],
  [0x85, "Client Identifier not valid", CONNACK],
  [0x86, "Bad User Name or Password", CONNACK],
  [0x87, "Not authorized", ERRORS],
  [0x88, "Server unavailable", CONNACK],
  [0x89, "Server busy", CONNACK | DISCONNECT],
  [0x8a, "Banned", CONNACK],
  [0x8b, "Server shutting down", DISCONNECT],
  [0x8c, "Bad authentication method", CONNACK | DISCONNECT],
  [0x8d, "Keep Alive timeout", DISCONNECT],
  [0x8e, "Session taken over", DISCONNECT],
  [0x8f, "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT],
  [0x90, "Topic Name invalid", CONNACK | PUB | DISCONNECT],
  [0x91, "Packet Identifier in use", PUB | SUBACK | UNSUBACK],
  [0x92, "Packet Identifier not found", PUBREL | PUBCOMP],
  [0x93, "Receive Maximum exceeded", DISCONNECT],
  [0x94, "Topic Alias invalid", DISCONNECT],
  [0x95, "Packet too large", CONNACK | DISCONNECT],
  [0x96, "Message rate too high", DISCONNECT],
  [0x97, "Quota exceeded", CONNACK | PUB | SUBACK | DISCONNECT],
  [0x98, "Administrative action", DISCONNECT],
  [0x99, "Payload format invalid", CONNACK | PUB | DISCONNECT],
  [0x9a, "Retain not supported", CONNACK | DISCONNECT],
  [0x9b, "QoS not supported", CONNACK | DISCONNECT],
  [0x9c, "Use another server", CONNACK | DISCONNECT],
  [0x9d, "Server moved", CONNACK | DISCONNECT],
  [0x9e, "Shared Subscriptions not supported", SUBACK | DISCONNECT],
  [0x9f, "Connection rate exceeded", CONNACK | DISCONNECT],
  [0xa0, "Maximum connect time", DISCONNECT],
  [0xa1, "Subscription Identifiers not supported", SUBACK | DISCONNECT],
  [0xa2, "Wildcard Subscriptions not supported", SUBACK | DISCONNECT],
];

const CONNACK_311 = [
  "Connection Accepted",
  "Connection Refused, unacceptable protocol version",
  "Connection Refused, identifier rejected",
  "Connection Refused, Server unavailable",
  "Connection Refused, bad user name or password",
  "Connection Refused, not authorized",
];

function entry(code: number): readonly [number, string, number] | undefined {
  return TABLE.find((e) => e[0] === code);
}

/**
 * Whether `code` is a reason (5.0) or return (3.1.1) code the spec allows in a packet of this type. In 3.1.1 only
 * CONNACK (0 to 5) and SUBACK (0, 1, 2, 0x80) carry codes; every other packet has 0.
 */
export function validReason(code: number, packetType: number, version: ProtocolVersion): boolean {
  if (version === 4) {
    if (packetType === 2) return code >= 0 && code <= 5;
    if (packetType === 9) return code === 0 || code === 1 || code === 2 || code === 0x80;
    return code === 0;
  }
  const e = entry(code);
  return e !== undefined && (e[2] & (1 << packetType)) !== 0;
}

/** The spec's name for `code` in a packet of this type, e.g. "Not authorized"; "Unknown reason 0x.." otherwise. */
export function reasonName(code: number, packetType: number, version: ProtocolVersion): string {
  if (version === 4 && packetType === 2 && code >= 0 && code < CONNACK_311.length) return CONNACK_311[code];
  if (packetType === 9 && code === 0) return "Granted QoS 0";
  if (version === 4 && packetType === 9 && code === 0x80) return "Failure";
  if (packetType === 14 && code === 0) return "Normal disconnection";
  const e = version === 5 || packetType === 9 || code === 0 ? entry(code) : undefined;
  return e !== undefined ? e[1] : `Unknown reason 0x${code.toString(16).padStart(2, "0")}`;
}
