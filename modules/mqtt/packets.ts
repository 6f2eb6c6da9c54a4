// The MQTT control packets as plain objects: the contract between the codec, the session and everything above.
// Numbers, not enums, so that the same code runs in XS on a device and transpiles file by file.

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;
export const AUTH = 15;

/** Names by packet type, for logs and errors; 0 (never a valid type) names a packet in general. */
export const PACKET_NAMES: readonly string[] = Object.freeze(
  "packet CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT AUTH".split(
    " ",
  ),
);

/** 4 is MQTT 3.1.1, 5 is MQTT 5.0. */
export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** MQTT 5.0 properties (spec 2.2.2.2), named as in the specification, camel-cased. */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** A PUBLISH may carry several; SUBSCRIBE carries at most one. */
  subscriptionIdentifier?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  /** In order; names may repeat (spec 3.1.2.11.8). */
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifiersAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface Connect {
  type: typeof CONNECT;
  protocolVersion: ProtocolVersion;
  clientId: string;
  /** Clean Session in 3.1.1, Clean Start in 5.0. */
  cleanStart: boolean;
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface Connack {
  type: typeof CONNACK;
  sessionPresent: boolean;
  /** 3.1.1 return code (0..5) or 5.0 reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface Publish {
  type: typeof PUBLISH;
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface Ack {
  type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP;
  packetId: number;
  /** 0 in 3.1.1. */
  reasonCode: number;
  properties?: Properties;
}

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  /** 0, 1 or 2 (spec 3.8.3.1). */
  retainHandling?: number;
}

export interface Subscribe {
  type: typeof SUBSCRIBE;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface Suback {
  type: typeof SUBACK;
  packetId: number;
  /** Granted QoS or failure (0x80 in 3.1.1), one per subscription. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface Unsubscribe {
  type: typeof UNSUBSCRIBE;
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface Unsuback {
  type: typeof UNSUBACK;
  packetId: number;
  /** Empty in 3.1.1, which has no reason codes here. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface Pingreq {
  type: typeof PINGREQ;
}

export interface Pingresp {
  type: typeof PINGRESP;
}

export interface Disconnect {
  type: typeof DISCONNECT;
  /** 0 in 3.1.1. */
  reasonCode: number;
  properties?: Properties;
}

export interface Auth {
  type: typeof AUTH;
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | Connect
  | Connack
  | Publish
  | Ack
  | Subscribe
  | Suback
  | Unsubscribe
  | Unsuback
  | Pingreq
  | Pingresp
  | Disconnect
  | Auth;
