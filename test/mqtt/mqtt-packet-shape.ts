// Tether's packets in mqtt-packet's object shape and back: the bridge the differential tests and the codec
// benchmark use to hand the same packet to both codecs.
import { PACKET_NAMES, type Packet, type Properties, type ProtocolVersion, type QoS } from "tether/mqtt/packets";
import { BYTE, PROPERTIES } from "tether/mqtt/properties";

export type Obj = Record<string, unknown>;

const FLAGS = new Set(
  PROPERTIES.filter((p) => p.type === BYTE && p.name !== "maximumQoS").map((p) => p.name as string),
);

const buf = (bytes: Uint8Array) => Buffer.from(bytes);
const bytes = (b: unknown) => new Uint8Array(b as Buffer);

export function propsToMp(props: Properties | undefined): Obj | undefined {
  if (props === undefined) return undefined;
  const out: Obj = {};
  for (const [key, value] of Object.entries(props)) {
    if (key === "userProperties") {
      const grouped: Record<string, string | string[]> = {};
      for (const [k, v] of value as [string, string][]) {
        const old = grouped[k];
        grouped[k] = old === undefined ? v : Array.isArray(old) ? [...old, v] : [old, v];
      }
      out[key] = grouped;
    } else if (value instanceof Uint8Array) out[key] = buf(value);
    else if (FLAGS.has(key)) out[key] = value === 1;
    else if (key === "subscriptionIdentifier")
      out[key] = (value as number[]).length === 1 ? (value as number[])[0] : value;
    else out[key] = value;
  }
  return out;
}

export function propsFromMp(props: Obj | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const out: Obj = {};
  for (const [key, value] of Object.entries(props)) {
    if (key === "userProperties") {
      const pairs: [string, string][] = [];
      for (const [k, v] of Object.entries(value as Obj)) for (const one of [v].flat()) pairs.push([k, one as string]);
      out[key] = pairs;
    } else if (Buffer.isBuffer(value)) out[key] = bytes(value);
    else if (typeof value === "boolean") out[key] = value ? 1 : 0;
    else if (key === "subscriptionIdentifier") out[key] = [value].flat();
    else out[key] = value;
  }
  return out as Properties;
}

/** Our packet as the object mqtt-packet's generate() takes. */
export function toMp(p: Packet, version: ProtocolVersion): Obj {
  const o: Obj = { cmd: PACKET_NAMES[p.type].toLowerCase() };
  switch (p.type) {
    case 1:
      Object.assign(o, {
        protocolId: "MQTT",
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.cleanStart,
        keepalive: p.keepAlive,
        username: p.username,
        password: p.password && buf(p.password),
        will: p.will && {
          topic: p.will.topic,
          payload: buf(p.will.payload),
          qos: p.will.qos,
          retain: p.will.retain,
          properties: propsToMp(p.will.properties),
        },
      });
      break;
    case 2:
      Object.assign(o, {
        sessionPresent: p.sessionPresent,
        [version === 5 ? "reasonCode" : "returnCode"]: p.reasonCode,
      });
      break;
    case 3:
      Object.assign(o, {
        topic: p.topic,
        payload: buf(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
      });
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      Object.assign(o, { messageId: p.packetId, reasonCode: p.reasonCode });
      break;
    case 8:
      o.messageId = p.packetId;
      o.subscriptions = p.subscriptions.map((s) => ({
        topic: s.topicFilter,
        qos: s.qos,
        nl: s.noLocal,
        rap: s.retainAsPublished,
        rh: s.retainHandling,
      }));
      break;
    case 9:
    case 11:
      Object.assign(o, { messageId: p.packetId, granted: p.reasonCodes });
      break;
    case 10:
      Object.assign(o, { messageId: p.packetId, unsubscriptions: p.topicFilters });
      break;
    case 14:
    case 15:
      o.reasonCode = p.reasonCode;
      break;
  }
  if ("properties" in p) o.properties = propsToMp(p.properties);
  return o;
}

/** A packet parsed by mqtt-packet, in our shape. */
export function fromMp(o: Obj, version: ProtocolVersion): Packet {
  const type = PACKET_NAMES.indexOf((o.cmd as string).toUpperCase());
  const properties = propsFromMp(o.properties as Obj | undefined);
  const withProps = <T extends object>(p: T) => (properties === undefined ? p : { ...p, properties });
  switch (type) {
    case 1: {
      const will = o.will as Obj | undefined;
      const p: Obj = {
        type,
        protocolVersion: o.protocolVersion,
        clientId: o.clientId,
        cleanStart: o.clean,
        keepAlive: o.keepalive,
      };
      if (properties !== undefined) p.properties = properties;
      if (will !== undefined) {
        const willProps = propsFromMp(will.properties as Obj | undefined);
        p.will = { topic: will.topic, payload: bytes(will.payload), qos: will.qos, retain: will.retain };
        if (willProps !== undefined) (p.will as Obj).properties = willProps;
      }
      if (o.username !== undefined) p.username = o.username;
      if (o.password !== undefined) p.password = bytes(o.password);
      return p as unknown as Packet;
    }
    case 2:
      return withProps({
        type,
        sessionPresent: o.sessionPresent as boolean,
        reasonCode: (version === 5 ? o.reasonCode : o.returnCode) as number,
      });
    case 3: {
      const p = {
        type,
        topic: o.topic as string,
        payload: bytes(o.payload),
        qos: o.qos as QoS,
        retain: o.retain as boolean,
        dup: o.dup as boolean,
      };
      return withProps(o.qos ? { ...p, packetId: o.messageId as number } : p);
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return withProps({ type, packetId: o.messageId as number, reasonCode: (o.reasonCode as number) ?? 0 });
    case 8:
      return withProps({
        type,
        packetId: o.messageId as number,
        subscriptions: (o.subscriptions as Obj[]).map((s) =>
          version === 5
            ? { topicFilter: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh }
            : { topicFilter: s.topic, qos: s.qos },
        ),
      }) as Packet;
    case 9:
    case 11:
      return withProps({ type, packetId: o.messageId as number, reasonCodes: (o.granted as number[]) ?? [] });
    case 10:
      return withProps({ type, packetId: o.messageId as number, topicFilters: o.unsubscriptions as string[] });
    case 12:
    case 13:
      return { type };
    default:
      return withProps({ type: type as 14 | 15, reasonCode: (o.reasonCode as number) ?? 0 });
  }
}
