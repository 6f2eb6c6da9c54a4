// XS entry of the meter benchmark's peer: Moddable's own `mqtt` module (read from the SDK, bench/meter.ts) on the
// SDK's socket, timer and time modules faked beside this file (bench/xs/moddable/), publishing and receiving QoS 0
// messages as bench/xs/meter.ts does with Tether's drop-in: the same topics and payload, an ArrayBuffer published
// with `{quality: 0}`, one PUBLISH per socket read, 1 ms of fake time per message and the timers due then (Moddable's
// module calls onMessage from a timer, as the drop-in does).
import Client from "moddable-mqtt";
import { type MeterInput, type MeterOutput, payloadBytes, TOPIC_IN, TOPIC_OUT } from "./meter-workload";
import { advance, type FakeSocket, loop } from "./moddable/loop";
import { installNatives } from "./moddable/natives";

const SOCKET_CONNECTED = 1;
const SOCKET_READABLE = 2;

/** PUBLISH QoS 0 to TOPIC_IN, as a broker sends it: each its own ArrayBuffer, as the SDK's socket reads it. */
function inboundPublish(): ArrayBuffer {
  const topic = Array.from(TOPIC_IN, (c) => c.charCodeAt(0));
  const payload = payloadBytes();
  const body = [0, topic.length, ...topic, ...payload];
  return Uint8Array.from([0x30, body.length, ...body]).buffer;
}

installNatives();
let ready = false;
let received = 0;
const client = new Client({ host: "broker.invalid", port: 1883, id: "meter", timeout: 60_000 });
client.onReady = () => {
  ready = true;
};
client.onMessage = () => {
  received++;
};
const socket = loop.socket as FakeSocket;
socket.callback!(SOCKET_CONNECTED);
feed(Uint8Array.of(0x20, 2, 0, 0).buffer); // CONNACK, accepted
advance(0);
client.subscribe(TOPIC_IN);
feed(Uint8Array.of(0x90, 3, 0, 1, 0).buffer); // SUBACK
advance(0);
if (!ready) throw new Error("Moddable's client did not connect");

function feed(bytes: ArrayBuffer): void {
  socket.pending = bytes;
  socket.callback!(SOCKET_READABLE, bytes.byteLength);
}

const body = payloadBytes().buffer as ArrayBuffer;
const flags = { quality: 0 as const };
const inbound = inboundPublish();

export default function (input: MeterInput): MeterOutput {
  const { op, qos, count } = input;
  if (qos !== 0 || op === "encode" || op === "decode") throw new Error(`no peer for ${op} QoS ${qos}`);
  const written = socket.written;
  const before = received;
  for (let i = 0; i < count; i++) {
    if (op === "publish") client.publish(TOPIC_OUT, body, flags);
    else if (op === "receive") feed(inbound);
    advance(1);
  }
  const messages = op === "receive" ? received - before : count;
  return { messages, written: socket.written - written, inflight: 0, serial: "" };
}
