// XS entry of the meter benchmark (bench/meter.ts, loaded with test/helpers/xs.ts): one batch of messages per call,
// so that xsnap's computron count for the call, divided by the batch, is the cost of one message. The drop-in
// Client of modules/compat/mqtt.ts runs on a ManualHost: connected once when this script loads, then fed bytes and
// fake time by hand. The codec alone (Encoder, Decoder) is the baseline.
import { bindClient } from "tether/compat/mqtt";
import { CodecError, Decoder, Encoder } from "tether/mqtt/codec";
import { type Packet, type ProtocolVersion, PUBLISH, type Publish, type QoS } from "tether/mqtt/packets";
import { ManualHost } from "./manual-host";
import { type MeterInput, type MeterOutput, payloadBytes, TOPIC_IN, TOPIC_OUT } from "./meter-workload";

const VERSION: ProtocolVersion = 4;
const MAX_PACKET = 65536;
/** Inbound PUBLISHes encoded in advance, used in turn: distinct packet ids, no encoding inside the measure. */
const INBOUND = 1000;

const PUBLISH_TYPE = 3;
const SUBSCRIBE_TYPE = 8;

/** The packet identifier of a PUBLISH (QoS > 0) or SUBSCRIBE the client wrote, or -1. */
function packetIdOf(bytes: Uint8Array): number {
  const type = bytes[0]! >> 4;
  let at = 1;
  // The remaining length: at most four bytes, the last without the continuation bit.
  while (at < 5 && bytes[at]! & 0x80) at++;
  at++;
  if (type === PUBLISH_TYPE) {
    if ((bytes[0]! & 0x06) === 0) return -1;
    at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
  } else if (type !== SUBSCRIBE_TYPE) return -1;
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function publishPacket(topic: string, qos: QoS, packetId: number): Publish {
  return {
    type: PUBLISH,
    topic,
    payload: payloadBytes(),
    qos,
    retain: false,
    dup: false,
    packetId: qos ? packetId : undefined,
  };
}

const encoder = new Encoder(512, MAX_PACKET);
const decoder = new Decoder(VERSION, MAX_PACKET);

/** Encoded and copied (the encoder reuses its buffer). */
function encoded(packet: Packet): Uint8Array {
  const bytes = encoder.encode(packet, VERSION);
  if (bytes instanceof CodecError) throw new Error(`encoding a ${packet.type}: ${bytes.message}`);
  return bytes.slice();
}

/** What a broker would send: PUBLISHes to the subscribed topic, by QoS. */
const inbound: Uint8Array[][] = [0, 1].map((qos) => {
  const packets: Uint8Array[] = [];
  for (let i = 0; i < INBOUND; i++) packets.push(encoded(publishPacket(TOPIC_IN, qos as QoS, i + 1)));
  return packets;
});

const host = new ManualHost();
/** The identifier of the last PUBLISH or SUBSCRIBE the client wrote, for the acknowledgement fed back. */
let lastId = -1;
/** Only QoS 1 needs the packet id of what was written: for the rest there is no hook, as on the peer's socket. */
function trackId(bytes: Uint8Array): void {
  const id = packetIdOf(bytes);
  if (id >= 0) lastId = id;
}
host.onWrite = trackId;
const Client = bindClient(host);
const client = new Client({ host: "broker.invalid", id: "meter" });
let received = 0;
client.onMessage = () => {
  received++;
};
host.open();
host.feed(Uint8Array.of(0x20, 2, 0, 0)); // CONNACK, accepted
host.advance(0);
client.subscribe(TOPIC_IN, 1);
host.feed(Uint8Array.of(0x90, 3, lastId >> 8, lastId & 0xff, 1)); // SUBACK, QoS 1 granted
host.advance(0);
if (!client.connected || host.serial) throw new Error(`the client did not connect: ${host.serial}`);

/** An ArrayBuffer, as Moddable applications publish. */
const body = payloadBytes().buffer as ArrayBuffer;
const flags = [{ quality: 0 as const }, { quality: 1 as const }];
/** One acknowledgement, its packet identifier set for each message. */
const puback = Uint8Array.of(0x40, 2, 0, 0);
const outbound = [publishPacket(TOPIC_OUT, 0, 0), publishPacket(TOPIC_OUT, 1, 1)];

/** Publishes through the drop-in; a QoS 1 message is acknowledged at once; 1 ms of fake time per message. */
function publishBatch(qos: 0 | 1, count: number): number {
  host.onWrite = qos ? trackId : undefined;
  let sent = 0;
  for (let i = 0; i < count; i++) {
    if (client.publish(TOPIC_OUT, body, flags[qos]) === "sent") sent++;
    if (qos) {
      puback[2] = lastId >> 8;
      puback[3] = lastId & 0xff;
      host.feed(puback);
    }
    host.advance(1);
  }
  return sent;
}

/** One PUBLISH per socket read, then the timers due (the drop-in calls onMessage from one), 1 ms per message. */
function receiveBatch(qos: 0 | 1, count: number): number {
  const before = received;
  const packets = inbound[qos]!;
  for (let i = 0; i < count; i++) {
    host.feed(packets[i % INBOUND]!);
    host.advance(1);
  }
  return received - before;
}

function encodeBatch(qos: 0 | 1, count: number): { messages: number; written: number } {
  const packet = outbound[qos]!;
  let written = 0;
  for (let i = 0; i < count; i++) {
    if (qos) packet.packetId = (i % 65535) + 1;
    const bytes = encoder.encode(packet, VERSION);
    if (bytes instanceof CodecError) throw new Error(bytes.message);
    written += bytes.length;
  }
  return { messages: count, written };
}

function decodeBatch(qos: 0 | 1, count: number): number {
  const packets = inbound[qos]!;
  let decoded = 0;
  for (let i = 0; i < count; i++) {
    decoder.push(packets[i % INBOUND]!);
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
      if (p instanceof CodecError) throw new Error(p.message);
      decoded++;
    }
  }
  return decoded;
}

export default function (input: MeterInput): MeterOutput {
  const { op, qos, count } = input;
  const written = host.written;
  let messages: number;
  let bytes: number | undefined;
  switch (op) {
    case "publish":
      messages = publishBatch(qos, count);
      break;
    case "receive":
      messages = receiveBatch(qos, count);
      break;
    case "encode":
      ({ messages, written: bytes } = encodeBatch(qos, count));
      break;
    case "decode":
      messages = decodeBatch(qos, count);
      break;
    case "idle":
      for (let i = 0; i < count; i++) host.advance(1);
      messages = count;
      break;
    default:
      throw new Error(`unknown op ${op}`);
  }
  const serial = host.serial;
  host.serial = "";
  return { messages, written: bytes ?? host.written - written, inflight: client.inflight, serial };
}
