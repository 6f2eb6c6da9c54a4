// The MQTT 5.0 properties (spec 2.2.2.2): identifier, name in `Properties`, data type and the packets that may
// carry each. The codec reads and writes them from this table, so adding a property is one line here.

import { frozen } from "tether/mqtt/frozen";
import type { Properties } from "tether/mqtt/packets";

/** Data types of property values (spec 1.5); the integer types are numbered by their size in bytes. */
export const BYTE = 1;
export const TWO_BYTE = 2;
export const VARIABLE = 3;
export const FOUR_BYTE = 4;
export const STRING = 5;
export const BINARY = 6;
export const STRING_PAIR = 7;

/** Pseudo packet type for the Will Properties of a CONNECT (0 is reserved as a packet type, so it is free). */
export const WILL = 0;

export interface PropertyInfo {
  readonly id: number;
  readonly name: keyof Properties;
  readonly type: number;
  /** Bit (1 << packet type) set for each packet that may carry it; bit 0 is the Will Properties. */
  readonly packets: number;
  /** Smallest valid value of a numeric property; 1 where the spec makes 0 a Protocol Error. */
  readonly min: number;
}

const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const ACKS = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7);
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBSCRIBE = 1 << 10;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const WILL_BIT = 1 << WILL;
const MESSAGE = PUBLISH | WILL_BIT;
const ALL = CONNECT | CONNACK | MESSAGE | ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH;

function p(id: number, name: keyof Properties, type: number, packets: number, min = 0): PropertyInfo {
  return { id, name, type, packets, min };
}

/** Every 5.0 property, by identifier. */
export const PROPERTIES: readonly PropertyInfo[] = frozen<PropertyInfo>([
  p(0x01, "payloadFormatIndicator", BYTE, MESSAGE),
  p(0x02, "messageExpiryInterval", FOUR_BYTE, MESSAGE),
  p(0x03, "contentType", STRING, MESSAGE),
  p(0x08, "responseTopic", STRING, MESSAGE),
  p(0x09, "correlationData", BINARY, MESSAGE),
  p(0x0b, "subscriptionIdentifier", VARIABLE, PUBLISH | SUBSCRIBE, 1),
  p(0x11, "sessionExpiryInterval", FOUR_BYTE, CONNECT | CONNACK | DISCONNECT),
  p(0x12, "assignedClientIdentifier", STRING, CONNACK),
  p(0x13, "serverKeepAlive", TWO_BYTE, CONNACK),
  p(0x15, "authenticationMethod", STRING, CONNECT | CONNACK | AUTH),
  p(0x16, "authenticationData", BINARY, CONNECT | CONNACK | AUTH),
  p(0x17, "requestProblemInformation", BYTE, CONNECT),
  p(0x18, "willDelayInterval", FOUR_BYTE, WILL_BIT),
  p(0x19, "requestResponseInformation", BYTE, CONNECT),
  p(0x1a, "responseInformation", STRING, CONNACK),
  p(0x1c, "serverReference", STRING, CONNACK | DISCONNECT),
  p(0x1f, "reasonString", STRING, CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH),
  p(0x21, "receiveMaximum", TWO_BYTE, CONNECT | CONNACK, 1),
  p(0x22, "topicAliasMaximum", TWO_BYTE, CONNECT | CONNACK),
  p(0x23, "topicAlias", TWO_BYTE, PUBLISH, 1),
  p(0x24, "maximumQoS", BYTE, CONNACK),
  p(0x25, "retainAvailable", BYTE, CONNACK),
  p(0x26, "userProperties", STRING_PAIR, ALL),
  p(0x27, "maximumPacketSize", FOUR_BYTE, CONNECT | CONNACK, 1),
  p(0x28, "wildcardSubscriptionAvailable", BYTE, CONNACK),
  p(0x29, "subscriptionIdentifiersAvailable", BYTE, CONNACK),
  p(0x2a, "sharedSubscriptionAvailable", BYTE, CONNACK),
]);

const byId: readonly (PropertyInfo | undefined)[] = Object.freeze(
  PROPERTIES.reduce<(PropertyInfo | undefined)[]>((a, info) => {
    a[info.id] = info;
    return a;
  }, []),
);

const byName: Readonly<Record<string, PropertyInfo>> = Object.freeze(
  Object.fromEntries(PROPERTIES.map((info) => [info.name, info])),
);

/** The property with this identifier, if MQTT 5.0 defines one. */
export function propertyById(id: number): PropertyInfo | undefined {
  return byId[id];
}

/** The property stored under this key of `Properties`, if any. */
export function propertyByName(name: string): PropertyInfo | undefined {
  return Object.hasOwn(byName, name) ? byName[name] : undefined;
}

/** Whether `info` may appear in a packet of this type (WILL for the Will Properties). */
export function propertyAllowed(info: PropertyInfo, packetType: number): boolean {
  return (info.packets & (1 << packetType)) !== 0;
}

/** Whether `info` may appear more than once in a packet of this type (spec 3.3.2.3.8 and 3.8.2.1.2). */
export function propertyRepeats(info: PropertyInfo, packetType: number): boolean {
  return info.type === STRING_PAIR || (info.id === 0x0b && packetType === 3);
}

/**
 * Whether a numeric value fits the property: an integer within its data type, at least `min`, and 0 or 1 for the
 * single-byte properties (all of them are flags or a QoS of 0 or 1).
 */
export function propertyValueValid(info: PropertyInfo, value: number): boolean {
  const t = info.type;
  const max = t === BYTE ? 1 : t === VARIABLE ? 268435455 : 2 ** (8 * t) - 1;
  return Number.isInteger(value) && value >= info.min && value <= max;
}
