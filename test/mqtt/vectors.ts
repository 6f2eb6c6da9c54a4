// Named codec test vectors, JSON-friendly so that the XS test can replay them inside the engine and compare with
// Node. Bytes are hex strings; a packet's byte fields are { $hex } objects (see packetToJson / packetFromJson).
// The valid encodings were checked against mqtt-packet (codec-differential.test.ts) and by hand against the specs.
import type { CodecErrorCode } from "tether/mqtt/codec";
import type { Packet, ProtocolVersion } from "tether/mqtt/packets";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Vector {
  name: string;
  version: ProtocolVersion;
  /** The packet in JSON form. With `hex`: encodes to it and decodes from it. Without: refused by the encoder. */
  packet?: Json;
  /** The bytes. Without `packet`: refused by the decoder. */
  hex?: string;
  /** Why the encoder (packet alone) or the decoder (hex alone) refuses. */
  error?: CodecErrorCode;
  /** Decode only: bytes the encoder would write differently (a form the spec allows, or a peer's leniency). */
  decodeOnly?: boolean;
  /** Maximum packet size for the encoder or decoder (default 1 MiB). */
  maxPacketSize?: number;
}

export const DEFAULT_MAX_PACKET_SIZE = 1 << 20;

// Both are linear in XS too (its strings are UTF-8 inside: indexing one and adding to one are not constant time),
// so that the XS fixtures can carry packets of 64 KB and more.
const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i++) parts.push(HEX[bytes[i] >> 4] + HEX[bytes[i] & 15]);
  return parts.join("");
}

export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >> 1);
  let i = 0;
  for (const c of hex) {
    const nibble = Number.parseInt(c, 16);
    bytes[i >> 1] = i & 1 ? bytes[i >> 1] | nibble : nibble << 4;
    i++;
  }
  return bytes;
}

function toJsonValue(value: unknown): Json {
  if (value instanceof Uint8Array) return { $hex: toHex(value) };
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    const o: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) o[k] = toJsonValue(v);
    return o;
  }
  return value as Json;
}

function fromJsonValue(json: Json): unknown {
  if (Array.isArray(json)) return json.map(fromJsonValue);
  if (json !== null && typeof json === "object") {
    if (typeof json.$hex === "string") return fromHex(json.$hex);
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) o[k] = fromJsonValue(v);
    return o;
  }
  return json;
}

/** A packet as plain JSON: every Uint8Array becomes { $hex: "..." }; undefined fields are dropped. */
export function packetToJson(packet: Packet): Json {
  return toJsonValue(packet);
}

/** The inverse of packetToJson. */
export function packetFromJson(json: Json): Packet {
  return fromJsonValue(json) as Packet;
}

const LONG = "x".repeat(130);

export const VECTORS: Vector[] = [
  // Valid packets of every type in both versions.
  {
    name: "3.1.1 CONNECT minimal",
    version: 4,
    packet: { type: 1, protocolVersion: 4, clientId: "dev1", cleanStart: true, keepAlive: 60 },
    hex: "101000044d5154540402003c000464657631",
  },
  {
    name: "3.1.1 CONNECT empty client id",
    version: 4,
    packet: { type: 1, protocolVersion: 4, clientId: "", cleanStart: true, keepAlive: 0 },
    hex: "100c00044d515454040200000000",
  },
  {
    name: "3.1.1 CONNECT user, password, will",
    version: 4,
    packet: {
      type: 1,
      protocolVersion: 4,
      clientId: "dev1",
      cleanStart: false,
      keepAlive: 30,
      username: "user",
      password: { $hex: "736563726574" },
      will: { topic: "dev/dev1/status", payload: { $hex: "6f66666c696e65" }, qos: 1, retain: true },
    },
    hex: "103800044d51545404ec001e000464657631000f6465762f646576312f73746174757300076f66666c696e650004757365720006736563726574",
  },
  {
    name: "3.1.1 CONNACK accepted",
    version: 4,
    packet: { type: 2, sessionPresent: false, reasonCode: 0 },
    hex: "20020000",
  },
  {
    name: "3.1.1 CONNACK session present",
    version: 4,
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    hex: "20020100",
  },
  {
    name: "3.1.1 CONNACK not authorized",
    version: 4,
    packet: { type: 2, sessionPresent: false, reasonCode: 5 },
    hex: "20020005",
  },
  {
    name: "3.1.1 PUBLISH QoS 0",
    version: 4,
    packet: { type: 3, topic: "a/b", payload: { $hex: "68656c6c6f" }, qos: 0, retain: false, dup: false },
    hex: "300a0003612f6268656c6c6f",
  },
  {
    name: "3.1.1 PUBLISH QoS 1 DUP, empty payload",
    version: 4,
    packet: { type: 3, topic: "a/b", payload: { $hex: "" }, qos: 1, retain: false, dup: true, packetId: 1 },
    hex: "3a070003612f620001",
  },
  {
    name: "3.1.1 PUBLISH QoS 2 retained, UTF-8 topic",
    version: 4,
    packet: {
      type: 3,
      topic: "café/日/😀",
      payload: { $hex: "00ff" },
      qos: 2,
      retain: true,
      dup: false,
      packetId: 65535,
    },
    hex: "3514000e636166c3a92fe697a52ff09f9880ffff00ff",
  },
  { name: "3.1.1 PUBACK", version: 4, packet: { type: 4, packetId: 1, reasonCode: 0 }, hex: "40020001" },
  { name: "3.1.1 PUBREC", version: 4, packet: { type: 5, packetId: 258, reasonCode: 0 }, hex: "50020102" },
  { name: "3.1.1 PUBREL", version: 4, packet: { type: 6, packetId: 258, reasonCode: 0 }, hex: "62020102" },
  { name: "3.1.1 PUBCOMP", version: 4, packet: { type: 7, packetId: 258, reasonCode: 0 }, hex: "70020102" },
  {
    name: "3.1.1 SUBSCRIBE",
    version: 4,
    packet: {
      type: 8,
      packetId: 10,
      subscriptions: [
        { topicFilter: "a/+/c", qos: 0 },
        { topicFilter: "#", qos: 2 },
      ],
    },
    hex: "820e000a0005612f2b2f630000012302",
  },
  {
    name: "3.1.1 SUBACK",
    version: 4,
    packet: { type: 9, packetId: 10, reasonCodes: [0, 1, 2, 128] },
    hex: "9006000a00010280",
  },
  {
    name: "3.1.1 UNSUBSCRIBE",
    version: 4,
    packet: { type: 10, packetId: 11, topicFilters: ["a/+/c", "#"] },
    hex: "a20c000b0005612f2b2f63000123",
  },
  { name: "3.1.1 UNSUBACK", version: 4, packet: { type: 11, packetId: 11, reasonCodes: [] }, hex: "b002000b" },
  { name: "3.1.1 PINGREQ", version: 4, packet: { type: 12 }, hex: "c000" },
  { name: "3.1.1 PINGRESP", version: 4, packet: { type: 13 }, hex: "d000" },
  { name: "3.1.1 DISCONNECT", version: 4, packet: { type: 14, reasonCode: 0 }, hex: "e000" },
  {
    name: "5.0 CONNECT with properties and will properties",
    version: 5,
    packet: {
      type: 1,
      protocolVersion: 5,
      clientId: "dev1",
      cleanStart: true,
      keepAlive: 60,
      username: "user",
      password: { $hex: "736563726574" },
      properties: {
        sessionExpiryInterval: 3600,
        receiveMaximum: 20,
        maximumPacketSize: 65536,
        topicAliasMaximum: 10,
        requestResponseInformation: 1,
        requestProblemInformation: 0,
        userProperties: [
          ["fw", "1.0"],
          ["fw", "1.1"],
        ],
        authenticationMethod: "PLAIN",
        authenticationData: { $hex: "0102" },
      },
      will: {
        topic: "dev/dev1/status",
        payload: { $hex: "6f66666c696e65" },
        qos: 2,
        retain: false,
        properties: {
          willDelayInterval: 10,
          payloadFormatIndicator: 1,
          messageExpiryInterval: 120,
          contentType: "text/plain",
          responseTopic: "dev/dev1/r",
          correlationData: { $hex: "abcd" },
          userProperties: [["k", "v"]],
        },
      },
    },
    hex: "10a10100044d51545405d6003c351100000e10210014270001000022000a1901170026000266770003312e3026000266770003312e31150005504c41494e160002010200046465763132180000000a0101020000007803000a746578742f706c61696e08000a6465762f646576312f72090002abcd2600016b000176000f6465762f646576312f73746174757300076f66666c696e650004757365720006736563726574",
  },
  {
    name: "5.0 CONNECT password without user name",
    version: 5,
    packet: { type: 1, protocolVersion: 5, clientId: "c", cleanStart: false, keepAlive: 5, password: { $hex: "70" } },
    hex: "101100044d5154540540000500000163000170",
  },
  {
    name: "5.0 CONNACK with every CONNACK property",
    version: 5,
    packet: {
      type: 2,
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 0,
        receiveMaximum: 100,
        maximumQoS: 1,
        retainAvailable: 0,
        maximumPacketSize: 1048576,
        assignedClientIdentifier: "auto-1",
        topicAliasMaximum: 5,
        reasonString: "ok",
        userProperties: [["a", "b"]],
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifiersAvailable: 1,
        sharedSubscriptionAvailable: 0,
        serverKeepAlive: 120,
        responseInformation: "resp/",
        serverReference: "other:1883",
        authenticationMethod: "PLAIN",
        authenticationData: { $hex: "00" },
      },
    },
    hex: "205601005311000000002100642401250027001000001200066175746f2d312200051f00026f6b26000161000162280129012a001300781a0005726573702f1c000a6f746865723a31383833150005504c41494e16000100",
  },
  {
    name: "5.0 CONNACK not authorized",
    version: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 135 },
    hex: "2003008700",
  },
  {
    name: "5.0 PUBLISH with every PUBLISH property",
    version: 5,
    packet: {
      type: 3,
      topic: "a/b",
      payload: { $hex: "7b7d" },
      qos: 1,
      retain: false,
      dup: false,
      packetId: 5,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 4294967295,
        contentType: "application/json",
        responseTopic: "r/1",
        correlationData: { $hex: "0001" },
        subscriptionIdentifier: [1, 268435455],
        topicAlias: 3,
        userProperties: [
          ["x", "1"],
          ["y", "2"],
          ["x", "3"],
        ],
      },
    },
    hex: "324e0003612f62000544010102ffffffff0300106170706c69636174696f6e2f6a736f6e080003722f3109000200010b010bffffff7f2300032600017800013126000179000132260001780001337b7d",
  },
  {
    name: "5.0 PUBLISH empty topic with topic alias",
    version: 5,
    packet: {
      type: 3,
      topic: "",
      payload: { $hex: "01" },
      qos: 0,
      retain: true,
      dup: false,
      properties: { topicAlias: 3 },
    },
    hex: "310700000323000301",
  },
  {
    name: "5.0 PUBLISH without properties",
    version: 5,
    packet: { type: 3, topic: "t", payload: { $hex: "" }, qos: 2, retain: false, dup: false, packetId: 9 },
    hex: "3406000174000900",
  },
  {
    name: "5.0 PUBLISH properties of 128 bytes or more",
    version: 5,
    packet: {
      type: 3,
      topic: "t",
      payload: { $hex: "00" },
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: [["k", LONG]] },
    },
    hex: "308e0100017488012600016b00827878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787800",
  },
  { name: "5.0 PUBACK short form", version: 5, packet: { type: 4, packetId: 1, reasonCode: 0 }, hex: "40020001" },
  {
    name: "5.0 PUBACK reason code only",
    version: 5,
    packet: { type: 4, packetId: 1, reasonCode: 16 },
    hex: "4003000110",
  },
  {
    name: "5.0 PUBREC with reason string",
    version: 5,
    packet: { type: 5, packetId: 2, reasonCode: 128, properties: { reasonString: "no", userProperties: [["a", ""]] } },
    hex: "500f0002800b1f00026e6f260001610000",
  },
  {
    name: "5.0 PUBREL packet identifier not found",
    version: 5,
    packet: { type: 6, packetId: 3, reasonCode: 146 },
    hex: "6203000392",
  },
  {
    name: "5.0 PUBCOMP success with properties",
    version: 5,
    packet: { type: 7, packetId: 4, reasonCode: 0, properties: { reasonString: "done" } },
    hex: "700b000400071f0004646f6e65",
  },
  {
    name: "5.0 SUBSCRIBE with options and subscription identifier",
    version: 5,
    packet: {
      type: 8,
      packetId: 12,
      properties: { subscriptionIdentifier: [42], userProperties: [["a", "b"]] },
      subscriptions: [
        { topicFilter: "a/#", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topicFilter: "$share/g/x/+", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    hex: "8221000c090b2a260001610001620003612f232d000c2473686172652f672f782f2b00",
  },
  {
    name: "5.0 SUBACK",
    version: 5,
    packet: { type: 9, packetId: 12, reasonCodes: [1, 135, 162], properties: { reasonString: "partly" } },
    hex: "900f000c091f0006706172746c790187a2",
  },
  {
    name: "5.0 UNSUBSCRIBE",
    version: 5,
    packet: { type: 10, packetId: 13, topicFilters: ["a/#"], properties: { userProperties: [["a", "b"]] } },
    hex: "a20f000d07260001610001620003612f23",
  },
  { name: "5.0 UNSUBACK", version: 5, packet: { type: 11, packetId: 13, reasonCodes: [0, 17] }, hex: "b005000d000011" },
  { name: "5.0 PINGREQ", version: 5, packet: { type: 12 }, hex: "c000" },
  { name: "5.0 PINGRESP", version: 5, packet: { type: 13 }, hex: "d000" },
  { name: "5.0 DISCONNECT short form", version: 5, packet: { type: 14, reasonCode: 0 }, hex: "e000" },
  { name: "5.0 DISCONNECT with will message", version: 5, packet: { type: 14, reasonCode: 4 }, hex: "e00104" },
  {
    name: "5.0 DISCONNECT with properties",
    version: 5,
    packet: {
      type: 14,
      reasonCode: 156,
      properties: {
        sessionExpiryInterval: 0,
        reasonString: "moved",
        serverReference: "b:1883",
        userProperties: [["a", "b"]],
      },
    },
    hex: "e01f9c1d11000000001f00056d6f7665641c0006623a3138383326000161000162",
  },
  { name: "5.0 AUTH short form", version: 5, packet: { type: 15, reasonCode: 0 }, hex: "f000" },
  {
    name: "5.0 AUTH continue",
    version: 5,
    packet: {
      type: 15,
      reasonCode: 24,
      properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: { $hex: "c1c2" }, reasonString: "more" },
    },
    hex: "f01c181a15000b534352414d2d5348412d31160002c1c21f00046d6f7265",
  },
  // Decode only: forms the encoder does not produce.
  {
    name: "5.0 CONNACK in 3.1.1 form (a 3.1.1 broker refusing a 5.0 CONNECT)",
    version: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 1 },
    hex: "20020001",
    decodeOnly: true,
  },
  {
    name: "remaining length not in its shortest form",
    version: 4,
    packet: { type: 12 },
    hex: "c08000",
    decodeOnly: true,
  },
  {
    name: "5.0 PUBACK with an empty property length",
    version: 5,
    packet: { type: 4, packetId: 1, reasonCode: 0 },
    hex: "400400010000",
    decodeOnly: true,
  },
  {
    name: "5.0 DISCONNECT with an empty property length",
    version: 5,
    packet: { type: 14, reasonCode: 0 },
    hex: "e0020000",
    decodeOnly: true,
  },
  {
    name: "3.1.1 CONNECT read by a 5.0 decoder",
    version: 5,
    packet: { type: 1, protocolVersion: 4, clientId: "dev1", cleanStart: true, keepAlive: 60 },
    hex: "101000044d5154540402003c000464657631",
    decodeOnly: true,
  },

  // Malformed input: the decoder's error.
  { name: "remaining length of 5 bytes", version: 4, hex: "30ffffffff7f", error: "malformed_length" },
  // In 3.1.1 a PUBLISH over the maximum is skipped instead (see the Decoder tests).
  { name: "256 MB announced", version: 5, hex: "30ffffff7f", error: "packet_too_large" },
  {
    name: "packet over a small maximum",
    version: 5,
    hex: "300b00016100",
    error: "packet_too_large",
    maxPacketSize: 12,
  },
  { name: "packet type 0", version: 4, hex: "0000", error: "bad_packet_type" },
  { name: "3.1.1 AUTH", version: 4, hex: "f000", error: "bad_packet_type" },
  { name: "PUBREL flags 0000", version: 4, hex: "60020001", error: "reserved_flags" },
  { name: "SUBSCRIBE flags 0000", version: 4, hex: "8006000100016100", error: "reserved_flags" },
  { name: "PUBACK flags 0010", version: 5, hex: "42020001", error: "reserved_flags" },
  { name: "3.1.1 CONNACK flags", version: 4, hex: "20020200", error: "reserved_flags" },
  { name: "CONNECT reserved flag", version: 4, hex: "101000044d5154540403003c000464657631", error: "reserved_flags" },
  { name: "3.1.1 subscription options bit 2", version: 4, hex: "8206000100016104", error: "reserved_flags" },
  { name: "5.0 subscription options bit 6", version: 5, hex: "820700010000016140", error: "reserved_flags" },
  { name: "3.1.1 PUBACK with 3 bytes", version: 4, hex: "4003000100", error: "malformed_packet" },
  { name: "3.1.1 UNSUBACK with a reason code", version: 4, hex: "b003000100", error: "malformed_packet" },
  { name: "PINGREQ with a body", version: 4, hex: "c00100", error: "malformed_packet" },
  { name: "3.1.1 DISCONNECT with a body", version: 4, hex: "e00100", error: "malformed_packet" },
  { name: "string longer than the packet", version: 4, hex: "3003000561", error: "malformed_packet" },
  { name: "packet shorter than its packet identifier", version: 4, hex: "400100", error: "malformed_packet" },
  { name: "property length beyond the packet", version: 5, hex: "40040001000a", error: "malformed_packet" },
  {
    name: "property crossing the property length",
    version: 5,
    hex: "3009000161020200000000",
    error: "malformed_packet",
  },
  {
    name: "will QoS without will flag",
    version: 4,
    hex: "101000044d5154540408003c000464657631",
    error: "malformed_packet",
  },
  { name: "invalid UTF-8 byte", version: 4, hex: "3004000261ff", error: "bad_utf8" },
  { name: "overlong UTF-8", version: 4, hex: "30040002c0af", error: "bad_utf8" },
  { name: "UTF-8 encoded surrogate", version: 4, hex: "30050003eda080", error: "bad_utf8" },
  { name: "U+0000 in a topic", version: 4, hex: "300400026100", error: "bad_utf8" },
  { name: "code point above U+10FFFF", version: 4, hex: "30060004f4908080", error: "bad_utf8" },
  { name: "truncated UTF-8 sequence", version: 4, hex: "30040002e282", error: "bad_utf8" },
  { name: "Session Expiry Interval in a PUBLISH", version: 5, hex: "3009000161051100000010", error: "bad_property" },
  { name: "unknown property 0x05", version: 5, hex: "3006000161020500", error: "bad_property" },
  { name: "Payload Format Indicator 2", version: 5, hex: "3006000161020102", error: "bad_property" },
  { name: "Topic Alias 0", version: 5, hex: "300700016103230000", error: "bad_property" },
  { name: "Content Type twice", version: 5, hex: "300c000161080300017803000178", error: "duplicate_property" },
  {
    name: "Subscription Identifier twice in SUBSCRIBE",
    version: 5,
    hex: "820b0001040b010b0200016100",
    error: "duplicate_property",
  },
  { name: "wildcard in a PUBLISH topic", version: 4, hex: "30050003612f2b", error: "bad_topic" },
  { name: "3.1.1 PUBLISH with an empty topic", version: 4, hex: "30020000", error: "bad_topic" },
  { name: "5.0 PUBLISH with an empty topic and no alias", version: 5, hex: "3003000000", error: "bad_topic" },
  { name: "SUBSCRIBE to a#", version: 4, hex: "820700010002612300", error: "bad_topic" },
  { name: "UNSUBSCRIBE from a/#/b", version: 4, hex: "a20900010005612f232f62", error: "bad_topic" },
  { name: "PUBLISH QoS 3", version: 4, hex: "3603000161", error: "bad_qos" },
  { name: "subscription QoS 3", version: 4, hex: "8206000100016103", error: "bad_qos" },
  { name: "will QoS 3", version: 4, hex: "101300044d515454041c003c000164000161000178", error: "bad_qos" },
  { name: "PUBACK packet identifier 0", version: 4, hex: "40020000", error: "bad_packet_id" },
  { name: "PUBLISH QoS 1 packet identifier 0", version: 4, hex: "32050001610000", error: "bad_packet_id" },
  { name: "DUP on a QoS 0 PUBLISH", version: 4, hex: "3803000161", error: "protocol_error" },
  { name: "SUBSCRIBE without a topic filter", version: 4, hex: "82020001", error: "protocol_error" },
  { name: "SUBACK without a return code", version: 4, hex: "90020001", error: "protocol_error" },
  { name: "5.0 UNSUBACK without a reason code", version: 5, hex: "b003000100", error: "protocol_error" },
  { name: "3.1.1 CONNACK return code 6", version: 4, hex: "20020006", error: "protocol_error" },
  { name: "session present with a refusal", version: 4, hex: "20020105", error: "protocol_error" },
  { name: "5.0 PUBACK reason code 0x04", version: 5, hex: "4003000104", error: "protocol_error" },
  { name: "5.0 retain handling 3", version: 5, hex: "820700010000016130", error: "protocol_error" },
  {
    name: "protocol name MQIsdp",
    version: 4,
    hex: "101200064d514973647003020000000464657631",
    error: "protocol_error",
  },
  {
    name: "CONNECT protocol level 3",
    version: 4,
    hex: "100c00044d5154540302003c0000",
    error: "unsupported_protocol_version",
  },

  // Packets the encoder refuses.
  {
    name: "wildcard in a PUBLISH topic",
    version: 5,
    packet: { type: 3, topic: "a/#", payload: { $hex: "" }, qos: 0, retain: false, dup: false },
    error: "bad_topic",
  },
  {
    name: "empty PUBLISH topic without an alias",
    version: 5,
    packet: { type: 3, topic: "", payload: { $hex: "" }, qos: 0, retain: false, dup: false },
    error: "bad_topic",
  },
  {
    name: "3.1.1 PUBLISH with a topic alias",
    version: 4,
    packet: {
      type: 3,
      topic: "",
      payload: { $hex: "" },
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    },
    error: "bad_topic",
  },
  {
    name: "PUBLISH QoS 3",
    version: 4,
    packet: { type: 3, topic: "t", payload: { $hex: "" }, qos: 3, retain: false, dup: false, packetId: 1 },
    error: "bad_qos",
  },
  {
    name: "PUBLISH QoS 1 without a packet identifier",
    version: 4,
    packet: { type: 3, topic: "t", payload: { $hex: "" }, qos: 1, retain: false, dup: false },
    error: "bad_packet_id",
  },
  {
    name: "PUBLISH QoS 2 packet identifier 65536",
    version: 5,
    packet: { type: 3, topic: "t", payload: { $hex: "" }, qos: 2, retain: false, dup: false, packetId: 65536 },
    error: "bad_packet_id",
  },
  {
    name: "PUBACK packet identifier 0",
    version: 4,
    packet: { type: 4, packetId: 0, reasonCode: 0 },
    error: "bad_packet_id",
  },
  {
    name: "DUP on a QoS 0 PUBLISH",
    version: 4,
    packet: { type: 3, topic: "t", payload: { $hex: "" }, qos: 0, retain: false, dup: true },
    error: "protocol_error",
  },
  {
    name: "lone surrogate in a topic",
    version: 4,
    packet: { type: 3, topic: "a\ud800", payload: { $hex: "" }, qos: 0, retain: false, dup: false },
    error: "bad_utf8",
  },
  {
    name: "U+0000 in a client identifier",
    version: 4,
    packet: { type: 1, protocolVersion: 4, clientId: "a\u0000", cleanStart: true, keepAlive: 0 },
    error: "bad_utf8",
  },
  {
    name: "will QoS 3",
    version: 4,
    packet: {
      type: 1,
      protocolVersion: 4,
      clientId: "c",
      cleanStart: true,
      keepAlive: 0,
      will: { topic: "w", payload: { $hex: "" }, qos: 3, retain: false },
    },
    error: "bad_qos",
  },
  {
    name: "will topic with a wildcard",
    version: 5,
    packet: {
      type: 1,
      protocolVersion: 5,
      clientId: "c",
      cleanStart: true,
      keepAlive: 0,
      will: { topic: "w/+", payload: { $hex: "" }, qos: 0, retain: false },
    },
    error: "bad_topic",
  },
  {
    name: "3.1.1 password without user name",
    version: 4,
    packet: { type: 1, protocolVersion: 4, clientId: "c", cleanStart: true, keepAlive: 0, password: { $hex: "00" } },
    error: "protocol_error",
  },
  {
    name: "CONNECT protocol level 3",
    version: 4,
    packet: { type: 1, protocolVersion: 3, clientId: "c", cleanStart: true, keepAlive: 0 },
    error: "unsupported_protocol_version",
  },
  {
    name: "SUBSCRIBE to a/#/b",
    version: 4,
    packet: { type: 8, packetId: 1, subscriptions: [{ topicFilter: "a/#/b", qos: 0 }] },
    error: "bad_topic",
  },
  {
    name: "SUBSCRIBE to a shared subscription without a filter",
    version: 5,
    packet: { type: 8, packetId: 1, subscriptions: [{ topicFilter: "$share/g/", qos: 0 }] },
    error: "bad_topic",
  },
  {
    name: "SUBSCRIBE without a topic filter",
    version: 4,
    packet: { type: 8, packetId: 1, subscriptions: [] },
    error: "protocol_error",
  },
  {
    name: "UNSUBSCRIBE without a topic filter",
    version: 5,
    packet: { type: 10, packetId: 1, topicFilters: [] },
    error: "protocol_error",
  },
  {
    name: "subscription QoS 3",
    version: 5,
    packet: { type: 8, packetId: 1, subscriptions: [{ topicFilter: "a", qos: 3 }] },
    error: "bad_qos",
  },
  {
    name: "retain handling 3",
    version: 5,
    packet: { type: 8, packetId: 1, subscriptions: [{ topicFilter: "a", qos: 0, retainHandling: 3 }] },
    error: "protocol_error",
  },
  {
    name: "3.1.1 No Local",
    version: 4,
    packet: { type: 8, packetId: 1, subscriptions: [{ topicFilter: "a", qos: 0, noLocal: true }] },
    error: "protocol_error",
  },
  {
    name: "3.1.1 properties",
    version: 4,
    packet: { type: 2, sessionPresent: false, reasonCode: 0, properties: { reasonString: "x" } },
    error: "protocol_error",
  },
  { name: "3.1.1 AUTH", version: 4, packet: { type: 15, reasonCode: 0 }, error: "bad_packet_type" },
  { name: "packet type 0", version: 5, packet: { type: 0 }, error: "bad_packet_type" },
  {
    name: "3.1.1 PUBACK reason code",
    version: 4,
    packet: { type: 4, packetId: 1, reasonCode: 0x80 },
    error: "protocol_error",
  },
  {
    name: "5.0 PUBACK reason code 0x04",
    version: 5,
    packet: { type: 4, packetId: 1, reasonCode: 4 },
    error: "protocol_error",
  },
  {
    name: "3.1.1 UNSUBACK with reason codes",
    version: 4,
    packet: { type: 11, packetId: 1, reasonCodes: [0] },
    error: "protocol_error",
  },
  {
    name: "Topic Alias in a CONNECT",
    version: 5,
    packet: {
      type: 1,
      protocolVersion: 5,
      clientId: "c",
      cleanStart: true,
      keepAlive: 0,
      properties: { topicAlias: 1 },
    },
    error: "bad_property",
  },
  {
    name: "Receive Maximum 0",
    version: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 0 } },
    error: "bad_property",
  },
  {
    name: "Message Expiry Interval 2^32",
    version: 5,
    packet: {
      type: 3,
      topic: "t",
      payload: { $hex: "" },
      qos: 0,
      retain: false,
      dup: false,
      properties: { messageExpiryInterval: 4294967296 },
    },
    error: "bad_property",
  },
  {
    name: "unknown property name",
    version: 5,
    packet: { type: 14, reasonCode: 0, properties: { colour: "red" } },
    error: "bad_property",
  },
  {
    name: "two Subscription Identifiers in a SUBSCRIBE",
    version: 5,
    packet: {
      type: 8,
      packetId: 1,
      subscriptions: [{ topicFilter: "a", qos: 0 }],
      properties: { subscriptionIdentifier: [1, 2] },
    },
    error: "duplicate_property",
  },
  {
    name: "PUBLISH over the maximum packet size",
    version: 4,
    packet: {
      type: 3,
      topic: "t",
      payload: { $hex: "000102030405060708090a0b0c0d0e0f" },
      qos: 0,
      retain: false,
      dup: false,
    },
    error: "packet_too_large",
    maxPacketSize: 16,
  },
];
