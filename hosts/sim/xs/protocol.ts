// The bridge between the simulator's two halves. Shared by both sides, so it uses only Uint8Array and DataView.
//
// Every message, in either direction, is one op byte, a 32-bit little-endian id (a socket, timer or lookup number
// chosen by the XS side; 0 when unused) and a payload: raw bytes for socket data, UTF-8 text or JSON otherwise.
// Requests go from XS to Node through xsnap's issueCommand and are answered synchronously; events go from Node to XS
// as xsnap commands (handleCommand), one at a time, in the order they happened.

export const HEADER_SIZE = 5;

// Requests (XS -> Node). The comment names the payload, then the reply.
/** none -> JSON { config: build-time settings, deviceId } */
export const REQ_BOOT = 1;
/** none -> none; the firmware is ready for serial, link and shutdown events */
export const REQ_LISTEN = 2;
/** none -> float64 ms since boot */
export const REQ_NOW = 3;
/** none -> one byte, 1 when the link is up */
export const REQ_LINK = 4;
/** text -> none */
export const REQ_SERIAL = 5;
/**
 * float64 ms, float64 id of the schedule it replaces (0 for none) -> none; fires EV_TIMER with the same id, once.
 * Every schedule has an id of its own: an event of one replaced while its event was already on the way finds
 * nothing on the XS side, so a timer set again fires at its new time only.
 */
export const REQ_TIMER_SET = 6;
/** none -> none */
export const REQ_TIMER_CLEAR = 7;
/** JSON ConnectOptions -> none; answers with EV_RESOLVED, EV_CONNECT or EV_ERROR */
export const REQ_CONNECT = 8;
/** bytes -> one byte, 0 when the socket's buffer is full (EV_WRITABLE follows) */
export const REQ_WRITE = 9;
/** none -> none */
export const REQ_CLOSE = 10;
/** text host name -> none; answers with EV_LOOKUP */
export const REQ_RESOLVE = 11;
/** text key -> empty when absent, else one byte (1) then the value as text, or (2) then why it cannot be read */
export const REQ_SETTING_READ = 12;
/** JSON [key, value] (value null to delete) -> none */
export const REQ_SETTING_WRITE = 13;
/** none -> JSON HeapInfo */
export const REQ_HEAP = 14;
/** none -> float64 in [0, 1) from the OS's random source */
export const REQ_RANDOM = 15;
/** none -> none; once the command is over and the sockets closed, the firmware boots again with its storage */
export const REQ_RESTART = 16;

// Events (Node -> XS).
export const EV_TIMER = 32;
/** text address */
export const EV_RESOLVED = 33;
export const EV_CONNECT = 34;
/** bytes */
export const EV_DATA = 35;
export const EV_WRITABLE = 36;
/** JSON NetError; the socket is gone */
export const EV_ERROR = 37;
/** JSON { address?: string, error?: NetError } */
export const EV_LOOKUP = 38;
/** text line; id 0 */
export const EV_SERIAL = 39;
/** id 1 for up, 0 for down */
export const EV_LINK = 40;
export const EV_SHUTDOWN = 41;

/** One message with its payload copied in: the only allocation per message. */
export function message(op: number, id = 0, payload?: Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(HEADER_SIZE + (payload ? payload.length : 0));
  bytes[0] = op;
  new DataView(bytes.buffer).setUint32(1, id, true);
  if (payload) bytes.set(payload, HEADER_SIZE);
  return bytes;
}

export function idOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, true);
}

/** The values as consecutive little-endian float64s. */
export function float64(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(8 * values.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
  return bytes;
}

export function readFloat64(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(offset, true);
}
