// fast-check arbitraries of valid MQTT packets, in the canonical shape the decoder produces (absent fields are
// absent, not undefined; no empty properties), so a round trip can compare with toStrictEqual.
import fc from "fast-check";
import type { Packet, Properties, ProtocolVersion, QoS, Subscription } from "tether/mqtt/packets";
import {
  BINARY,
  BYTE,
  FOUR_BYTE,
  PROPERTIES,
  type PropertyInfo,
  propertyAllowed,
  STRING,
  STRING_PAIR,
  TWO_BYTE,
  WILL,
} from "tether/mqtt/properties";
import { validReason } from "tether/mqtt/reasons";
import { utf8Length } from "tether/mqtt/utf8";
import { fromHex, VECTORS } from "./vectors";

/** Reason codes the spec allows in a packet type, by version. */
export function reasonCodes(packetType: number, version: ProtocolVersion): number[] {
  const codes: number[] = [];
  for (let code = 0; code < 256; code++) if (validReason(code, packetType, version)) codes.push(code);
  return codes;
}

/**
 * Any string brokers accept: every code point but controls and non-characters (see utf8.ts; fast-check's binary
 * unit never makes lone surrogates).
 */
export const mqttString = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({ unit: "binary", maxLength }).filter((s) => utf8Length(s) >= 0);

export const bytes = (maxLength = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

const levelChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("a", "b", "c", "x", "$", " ", "é", "日", "😀") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
/** One topic level: no "/", "+", "#", nothing brokers refuse (see utf8.ts); may be empty. */
const level = fc
  .array(levelChar, { maxLength: 5 })
  .map((cs) => cs.join(""))
  .filter((s) => !/[/+#]/.test(s) && utf8Length(s) >= 0);

export const topicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join("/"))
  .filter((s) => s.length > 0);

export const topicFilter: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof(level, fc.constant("+")), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, "#"] : levels).join("/"))
  .filter((s) => s.length > 0 && !s.startsWith("$share/"));

const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 0xffff });

function propertyValue(info: PropertyInfo, packetType: number): fc.Arbitrary<unknown> {
  switch (info.type) {
    case BYTE:
      return fc.constantFrom(0, 1);
    case TWO_BYTE:
      return fc.integer({ min: info.min, max: 0xffff });
    case FOUR_BYTE:
      return fc.integer({ min: info.min, max: 0xffffffff });
    case STRING:
      return mqttString();
    case BINARY:
      return bytes(8);
    case STRING_PAIR:
      return fc.array(fc.tuple(mqttString(6), mqttString(6)), { minLength: 1, maxLength: 3 });
    default:
      // Subscription identifiers: several in a PUBLISH, one in a SUBSCRIBE.
      return fc.array(fc.integer({ min: 1, max: 268435455 }), { minLength: 1, maxLength: packetType === 3 ? 3 : 1 });
  }
}

/** Properties valid in a packet type (WILL for Will Properties), or undefined (none). */
export function properties(packetType: number): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const info of PROPERTIES)
    if (propertyAllowed(info, packetType)) model[info.name] = propertyValue(info, packetType);
  const props = fc.record(model, { requiredKeys: [], noNullPrototype: true }) as fc.Arbitrary<Properties>;
  return fc.oneof(
    fc.constant(undefined),
    props.map((p) => (Object.keys(p).length > 0 ? p : undefined)),
  );
}

/** Adds `properties` to a packet when there are some. */
function withProperties<T extends object>(packet: T, props: Properties | undefined): T {
  return props === undefined ? packet : { ...packet, properties: props };
}

/** Drops keys whose value is undefined, as the decoder never produces them. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const noProperties = fc.constant(undefined);

function connect(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = version === 5;
  const will = fc
    .record(
      {
        topic: topicName,
        payload: bytes(),
        qos,
        retain: fc.boolean(),
        properties: v5 ? properties(WILL) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(defined);
  return fc
    .record(
      {
        clientId: mqttString(23),
        cleanStart: fc.boolean(),
        keepAlive: fc.integer({ min: 0, max: 0xffff }),
        username: fc.option(mqttString(), { nil: undefined }),
        password: fc.option(bytes(), { nil: undefined }),
        will: fc.option(will, { nil: undefined }),
        properties: v5 ? properties(1) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map((c) =>
      defined({
        type: 1 as const,
        protocolVersion: version,
        ...c,
        // 3.1.1 cannot send a password without a user name.
        password: v5 || c.username !== undefined ? c.password : undefined,
      }),
    );
}

function connack(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record(
      {
        reasonCode: fc.constantFrom(...reasonCodes(2, version)),
        sessionPresent: fc.boolean(),
        properties: version === 5 ? properties(2) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ reasonCode, sessionPresent, properties: p }) =>
      withProperties({ type: 2 as const, sessionPresent: sessionPresent && reasonCode === 0, reasonCode }, p),
    );
}

function publish(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record(
      {
        topic: topicName,
        emptyTopic: fc.boolean(),
        payload: bytes(64),
        qos,
        retain: fc.boolean(),
        dup: fc.boolean(),
        packetId,
        properties: version === 5 ? properties(3) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ topic, emptyTopic, payload, qos: q, retain, dup, packetId: id, properties: p }) => {
      // With a topic alias the topic name may be empty (5.0 spec 3.3.2.3.4).
      const name = emptyTopic && p?.topicAlias !== undefined ? "" : topic;
      const base = { type: 3 as const, topic: name, payload, qos: q, retain, dup: dup && q > 0 };
      return withProperties(q > 0 ? { ...base, packetId: id } : base, p);
    });
}

function ack(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc.constantFrom<4 | 5 | 6 | 7>(4, 5, 6, 7).chain((type) =>
    fc
      .record(
        {
          packetId,
          reasonCode: fc.constantFrom(...reasonCodes(type, version)),
          properties: version === 5 ? properties(type) : noProperties,
        },
        { noNullPrototype: true },
      )
      .map(({ properties: p, ...rest }) => withProperties({ type, ...rest }, p)),
  );
}

function subscription(version: ProtocolVersion): fc.Arbitrary<Subscription> {
  if (version === 4) return fc.record({ topicFilter, qos }, { noNullPrototype: true });
  return fc.record(
    {
      topicFilter,
      qos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom(0, 1, 2),
    },
    { noNullPrototype: true },
  );
}

function subscribe(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record(
      {
        packetId,
        subscriptions: fc.array(subscription(version), { minLength: 1, maxLength: 3 }),
        properties: version === 5 ? properties(8) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ properties: p, ...rest }) => withProperties({ type: 8 as const, ...rest }, p));
}

function suback(version: ProtocolVersion, type: 9 | 11): fc.Arbitrary<Packet> {
  const none = version === 4 && type === 11;
  return fc
    .record(
      {
        packetId,
        reasonCodes: none
          ? fc.constant<number[]>([])
          : fc.array(fc.constantFrom(...reasonCodes(type, version)), { minLength: 1, maxLength: 4 }),
        properties: version === 5 ? properties(type) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ properties: p, ...rest }) => withProperties({ type, ...rest } as Packet, p));
}

function unsubscribe(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record(
      {
        packetId,
        topicFilters: fc.array(topicFilter, { minLength: 1, maxLength: 3 }),
        properties: version === 5 ? properties(10) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ properties: p, ...rest }) => withProperties({ type: 10 as const, ...rest }, p));
}

function reasonOnly(version: ProtocolVersion, type: 14 | 15): fc.Arbitrary<Packet> {
  return fc
    .record(
      {
        reasonCode: fc.constantFrom(...reasonCodes(type, version)),
        properties: version === 5 ? properties(type) : noProperties,
      },
      { noNullPrototype: true },
    )
    .map(({ properties: p, reasonCode }) => withProperties({ type, reasonCode }, p));
}

/** Any valid packet of this protocol version. */
export function packet(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const all = [
    connect(version),
    connack(version),
    publish(version),
    ack(version),
    subscribe(version),
    suback(version, 9),
    unsubscribe(version),
    suback(version, 11),
    fc.constant<Packet>({ type: 12 }),
    fc.constant<Packet>({ type: 13 }),
    reasonOnly(version, 14),
  ];
  if (version === 5) all.push(reasonOnly(version, 15));
  return fc.oneof(...all);
}

/** A protocol version and a valid packet of it. */
export const versionedPacket: fc.Arbitrary<{ version: ProtocolVersion; packet: Packet }> = fc
  .constantFrom<ProtocolVersion>(4, 5)
  .chain((version) => packet(version).map((p) => ({ version, packet: p })));

const seeds = VECTORS.filter((v) => v.hex !== undefined).map((v) => ({ version: v.version, bytes: fromHex(v.hex!) }));

/** A valid encoding with a few bytes changed, inserted or deleted. */
export const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.constantFrom("set", "insert", "delete"), fc.nat(), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 2,
    }),
  )
  .map(([seed, edits]) => {
    const bytes = [...seed.bytes];
    for (const [op, at, value] of edits) {
      const i = at % (bytes.length + 1);
      if (op === "insert") bytes.splice(i, 0, value);
      else if (i < bytes.length) {
        if (op === "set") bytes[i] = value;
        else bytes.splice(i, 1);
      }
    }
    return { version: seed.version, bytes: Uint8Array.from(bytes) };
  });

/** Any bytes, read as either version. */
export const noise = fc.record({
  version: fc.constantFrom<ProtocolVersion>(4, 5),
  bytes: fc.uint8Array({ maxLength: 300 }),
});
