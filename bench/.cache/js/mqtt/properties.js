const BYTE = 1;
const TWO_BYTE = 2;
const FOUR_BYTE = 3;
const VARIABLE = 4;
const STRING = 5;
const BINARY = 6;
const STRING_PAIR = 7;
const WILL = 0;
const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const ACKS = 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7;
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBSCRIBE = 1 << 10;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const WILL_BIT = 1 << WILL;
const MESSAGE = PUBLISH | WILL_BIT;
const ALL = CONNECT | CONNACK | MESSAGE | ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH;
function p(id, name, type, packets, min = 0) {
  return { id, name, type, packets, min };
}
const PROPERTIES = [
  p(1, "payloadFormatIndicator", BYTE, MESSAGE),
  p(2, "messageExpiryInterval", FOUR_BYTE, MESSAGE),
  p(3, "contentType", STRING, MESSAGE),
  p(8, "responseTopic", STRING, MESSAGE),
  p(9, "correlationData", BINARY, MESSAGE),
  p(11, "subscriptionIdentifier", VARIABLE, PUBLISH | SUBSCRIBE, 1),
  p(17, "sessionExpiryInterval", FOUR_BYTE, CONNECT | CONNACK | DISCONNECT),
  p(18, "assignedClientIdentifier", STRING, CONNACK),
  p(19, "serverKeepAlive", TWO_BYTE, CONNACK),
  p(21, "authenticationMethod", STRING, CONNECT | CONNACK | AUTH),
  p(22, "authenticationData", BINARY, CONNECT | CONNACK | AUTH),
  p(23, "requestProblemInformation", BYTE, CONNECT),
  p(24, "willDelayInterval", FOUR_BYTE, WILL_BIT),
  p(25, "requestResponseInformation", BYTE, CONNECT),
  p(26, "responseInformation", STRING, CONNACK),
  p(28, "serverReference", STRING, CONNACK | DISCONNECT),
  p(31, "reasonString", STRING, CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH),
  p(33, "receiveMaximum", TWO_BYTE, CONNECT | CONNACK, 1),
  p(34, "topicAliasMaximum", TWO_BYTE, CONNECT | CONNACK),
  p(35, "topicAlias", TWO_BYTE, PUBLISH, 1),
  p(36, "maximumQoS", BYTE, CONNACK),
  p(37, "retainAvailable", BYTE, CONNACK),
  p(38, "userProperties", STRING_PAIR, ALL),
  p(39, "maximumPacketSize", FOUR_BYTE, CONNECT | CONNACK, 1),
  p(40, "wildcardSubscriptionAvailable", BYTE, CONNACK),
  p(41, "subscriptionIdentifiersAvailable", BYTE, CONNACK),
  p(42, "sharedSubscriptionAvailable", BYTE, CONNACK)
];
const byId = PROPERTIES.reduce((a, info) => {
  a[info.id] = info;
  return a;
}, []);
const byName = Object.fromEntries(PROPERTIES.map((info) => [info.name, info]));
function propertyById(id) {
  return byId[id];
}
function propertyByName(name) {
  return Object.hasOwn(byName, name) ? byName[name] : void 0;
}
function propertyAllowed(info, packetType) {
  return (info.packets & 1 << packetType) !== 0;
}
function propertyRepeats(info, packetType) {
  return info.type === STRING_PAIR || info.id === 11 && packetType === 3;
}
function propertyValueValid(info, value) {
  const max = info.type === BYTE ? 1 : info.type === TWO_BYTE ? 65535 : info.type === FOUR_BYTE ? 4294967295 : 268435455;
  return Number.isInteger(value) && value >= info.min && value <= max;
}
export {
  BINARY,
  BYTE,
  FOUR_BYTE,
  PROPERTIES,
  STRING,
  STRING_PAIR,
  TWO_BYTE,
  VARIABLE,
  WILL,
  propertyAllowed,
  propertyById,
  propertyByName,
  propertyRepeats,
  propertyValueValid
};
