// Reason codes: MQTT 5.0 spec 2.4 (with the packets each may appear in) and the 3.1.1 CONNACK and SUBACK return
// codes. The codec uses the packet sets to refuse a code the spec does not allow; diagnostics use the names.
import type { ProtocolVersion } from "tether/mqtt/packets";

// One line per 5.0 reason code: the code in hex, the packet types that may carry it as hex digits (2 CONNACK,
// 4 PUBACK, 5 PUBREC, 6 PUBREL, 7 PUBCOMP, 9 SUBACK, b UNSUBACK, e DISCONNECT, f AUTH), and its name. Codes 0 to 2
// have other names in some packets: see reasonName. A text table is a fraction of the bytecode of an array of arrays.
const TABLE = `
00 245679bef Success
01 9 Granted QoS 1
02 9 Granted QoS 2
04 e Disconnect with Will Message
10 45 No matching subscribers
11 b No subscription existed
18 f Continue authentication
19 f Re-authenticate
80 2459be Unspecified error
81 2e Malformed Packet
82 2e Protocol Error
83 2459be Implementation specific error
84 2 Unsupported Protocol Version
85 2 Client Identifier not valid
86 2 Bad User Name or Password
87 2459be Not authorized
88 2 Server unavailable
89 2e Server busy
8a 2 Banned
8b e Server shutting down
8c 2e Bad authentication method
8d e Keep Alive timeout
8e e Session taken over
8f 9be Topic Filter invalid
90 245e Topic Name invalid
91 459b Packet Identifier in use
92 67 Packet Identifier not found
93 e Receive Maximum exceeded
94 e Topic Alias invalid
95 2e Packet too large
96 e Message rate too high
97 2459e Quota exceeded
98 e Administrative action
99 245e Payload format invalid
9a 2e Retain not supported
9b 2e QoS not supported
9c 2e Use another server
9d 2e Server moved
9e 9e Shared Subscriptions not supported
9f 2e Connection rate exceeded
a0 e Maximum connect time
a1 9e Subscription Identifiers not supported
a2 9e Wildcard Subscriptions not supported
`;

const CONNACK_311 = Object.freeze([
  "Connection Accepted",
  "Connection Refused, unacceptable protocol version",
  "Connection Refused, identifier rejected",
  "Connection Refused, Server unavailable",
  "Connection Refused, bad user name or password",
  "Connection Refused, not authorized",
]);

function hex(code: number): string {
  return code.toString(16).padStart(2, "0");
}

/** Where the code's packet types start in TABLE, or -1 for a code 5.0 does not define. */
function find(code: number): number {
  const at = code >= 0 && code <= 0xff ? TABLE.indexOf(`\n${hex(code)} `) : -1;
  return at < 0 ? at : at + 4;
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
  const at = find(code);
  const types = at < 0 ? "" : TABLE.slice(at, TABLE.indexOf(" ", at));
  return packetType > 0 && packetType < 16 && types.includes(packetType.toString(16));
}

/** The spec's name for `code` in a packet of this type, e.g. "Not authorized"; "Unknown reason 0x.." otherwise. */
export function reasonName(code: number, packetType: number, version: ProtocolVersion): string {
  if (version === 4 && packetType === 2 && code >= 0 && code < CONNACK_311.length) return CONNACK_311[code];
  if (packetType === 9 && code === 0) return "Granted QoS 0";
  if (version === 4 && packetType === 9 && code === 0x80) return "Failure";
  if (packetType === 14 && code === 0) return "Normal disconnection";
  const at = version === 5 || packetType === 9 || code === 0 ? find(code) : -1;
  return at < 0 ? `Unknown reason 0x${hex(code)}` : TABLE.slice(TABLE.indexOf(" ", at) + 1, TABLE.indexOf("\n", at));
}

/** The code in hex with its name in a packet of this type, as logs show it: "0x10 No matching subscribers". */
export function reasonText(code: number, packetType: number, version: ProtocolVersion): string {
  return `0x${hex(code)} ${reasonName(code, packetType, version)}`;
}
