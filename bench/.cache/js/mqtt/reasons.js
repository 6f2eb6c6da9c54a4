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
const TABLE = [
  [0, "Success", CONNACK | PUB | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH],
  [1, "Granted QoS 1", SUBACK],
  [2, "Granted QoS 2", SUBACK],
  [4, "Disconnect with Will Message", DISCONNECT],
  [16, "No matching subscribers", PUB],
  [17, "No subscription existed", UNSUBACK],
  [24, "Continue authentication", AUTH],
  [25, "Re-authenticate", AUTH],
  [128, "Unspecified error", ERRORS],
  [129, "Malformed Packet", CONNACK | DISCONNECT],
  [130, "Protocol Error", CONNACK | DISCONNECT],
  [131, "Implementation specific error", ERRORS],
  [132, "Unsupported Protocol Version", CONNACK],
  [133, "Client Identifier not valid", CONNACK],
  [134, "Bad User Name or Password", CONNACK],
  [135, "Not authorized", ERRORS],
  [136, "Server unavailable", CONNACK],
  [137, "Server busy", CONNACK | DISCONNECT],
  [138, "Banned", CONNACK],
  [139, "Server shutting down", DISCONNECT],
  [140, "Bad authentication method", CONNACK | DISCONNECT],
  [141, "Keep Alive timeout", DISCONNECT],
  [142, "Session taken over", DISCONNECT],
  [143, "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT],
  [144, "Topic Name invalid", CONNACK | PUB | DISCONNECT],
  [145, "Packet Identifier in use", PUB | SUBACK | UNSUBACK],
  [146, "Packet Identifier not found", PUBREL | PUBCOMP],
  [147, "Receive Maximum exceeded", DISCONNECT],
  [148, "Topic Alias invalid", DISCONNECT],
  [149, "Packet too large", CONNACK | DISCONNECT],
  [150, "Message rate too high", DISCONNECT],
  [151, "Quota exceeded", CONNACK | PUB | SUBACK | DISCONNECT],
  [152, "Administrative action", DISCONNECT],
  [153, "Payload format invalid", CONNACK | PUB | DISCONNECT],
  [154, "Retain not supported", CONNACK | DISCONNECT],
  [155, "QoS not supported", CONNACK | DISCONNECT],
  [156, "Use another server", CONNACK | DISCONNECT],
  [157, "Server moved", CONNACK | DISCONNECT],
  [158, "Shared Subscriptions not supported", SUBACK | DISCONNECT],
  [159, "Connection rate exceeded", CONNACK | DISCONNECT],
  [160, "Maximum connect time", DISCONNECT],
  [161, "Subscription Identifiers not supported", SUBACK | DISCONNECT],
  [162, "Wildcard Subscriptions not supported", SUBACK | DISCONNECT]
];
const CONNACK_311 = [
  "Connection Accepted",
  "Connection Refused, unacceptable protocol version",
  "Connection Refused, identifier rejected",
  "Connection Refused, Server unavailable",
  "Connection Refused, bad user name or password",
  "Connection Refused, not authorized"
];
function entry(code) {
  return TABLE.find((e) => e[0] === code);
}
function validReason(code, packetType, version) {
  if (version === 4) {
    if (packetType === 2) return code >= 0 && code <= 5;
    if (packetType === 9) return code === 0 || code === 1 || code === 2 || code === 128;
    return code === 0;
  }
  const e = entry(code);
  return e !== void 0 && (e[2] & 1 << packetType) !== 0;
}
function reasonName(code, packetType, version) {
  if (version === 4 && packetType === 2 && code >= 0 && code < CONNACK_311.length) return CONNACK_311[code];
  if (packetType === 9 && code === 0) return "Granted QoS 0";
  if (version === 4 && packetType === 9 && code === 128) return "Failure";
  if (packetType === 14 && code === 0) return "Normal disconnection";
  const e = version === 5 || packetType === 9 || code === 0 ? entry(code) : void 0;
  return e !== void 0 ? e[1] : `Unknown reason 0x${code.toString(16).padStart(2, "0")}`;
}
export {
  reasonName,
  validReason
};
