// What both meter entries do the same (bench/xs/meter.ts on Tether's drop-in, bench/xs/moddable-meter.ts on
// Moddable's `mqtt` module): the calls they take and answer, the topics, the payload.

/** `idle`: the harness alone, its clock moved 1 ms a message as in publish and receive, for taking it off. */
export type MeterOp = "publish" | "receive" | "encode" | "decode" | "idle";

export interface MeterInput {
  op: MeterOp;
  qos: 0 | 1;
  /** Messages in the batch; 0 measures the call alone. */
  count: number;
}

/** What the batch did, for the Node side to check before it trusts the count. */
export interface MeterOutput {
  /** Messages published (accepted as sent), delivered to onMessage, encoded or decoded. */
  messages: number;
  /** Bytes the client wrote to its socket, or the encoder produced. */
  written: number;
  /** QoS 1 publishes not yet acknowledged after the batch. */
  inflight: number;
  /** What the client printed on the serial port during the batch (its warnings): empty when all went well. */
  serial: string;
}

/** Payload size of every message, bytes. */
export const PAYLOAD_SIZE = 64;
export const TOPIC_OUT = "bench/meter/out";
export const TOPIC_IN = "bench/meter/in";

export function payloadBytes(): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}
