// MQTT over WebSocket (RFC 6455; MQTT 3.1.1 section 6 and 5.0 section 6), as a layer between a host socket and the
// MQTT connection: `WebSocket` is the sans-IO part (the upgrade and the framing, bytes in and bytes out), and
// `connectWebSocket` puts it in front of Host.connect with the same Socket/SocketHandlers shapes, so the supervisor
// and the self-test drive a ws:// broker as they drive a TCP one, and wss:// gets its TLS from the host.
//
// The SDK's WebSocket clients are not used: they do not check the upgrade (Accept, subprotocol) and cannot say why
// one failed, and Moddable's mqtt module assumes one MQTT packet per frame. Here message payloads are handed on as a
// byte stream (MQTT packets need not align with frames), slices of the bytes the socket delivered: no copy, no
// buffer per frame. Outgoing frames are built in one buffer kept for the connection (the host copies what it is
// given), masked with a fresh key each.

import { base64, sha1 } from "tether/client/sha1";
import type { TransportError, WebSocketHandlers, WebSocketTarget } from "tether/client/transport";
import type { ConnectOptions, Host, NetError, Socket } from "tether/host";
import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";

/** What the sans-IO WebSocket asks of its driver. Arrays are only valid during the call. */
export interface WebSocketOutput {
  /** Bytes for the socket. */
  send(bytes: Uint8Array): boolean;
  /** The server accepted the upgrade: MQTT may start. */
  open(): void;
  /** Payload bytes of the binary messages, in order. */
  data(bytes: Uint8Array): void;
  /** The WebSocket failed or the server closed it (its close frame answered): close the socket; nothing follows. */
  end(error: TransportError): void;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The most response head we read before calling it too large: proxies add headers, nothing needs more. */
const MAX_HEAD = 8192;
const MAX_CONTROL = 125;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Close codes we send (RFC 6455 7.4.1). */
const NORMAL = 1000;
const PROTOCOL_ERROR = 1002;
const UNSUPPORTED_DATA = 1003;
/** Stands for "no code in the close frame" (RFC 6455 7.1.5); never sent. */
const NO_STATUS = 1005;

const UPGRADING = 0;
const OPEN = 1;
const CLOSED = 2;

export class WebSocket {
  private state = UPGRADING;
  private readonly key: string;
  /** The response head until its blank line, then the close/ping payload being read (at most 125 bytes). */
  private head: Uint8Array | undefined;
  private headLength = 0;
  /** The frame header being read (2 to 10 bytes: a masked frame is refused after its first 2). */
  private readonly frame = new Uint8Array(10);
  private frameLength = 0;
  /** Payload bytes of the current frame still to come; -1 between frames. */
  private remaining = -1;
  private opcode = 0;
  /** A fragmented data message is under way (continuation frames may follow). */
  private fragmented = false;
  /** Outgoing frames are built here; grown to the largest frame sent. */
  private out = new Uint8Array(64);

  constructor(
    private readonly target: WebSocketTarget,
    private readonly random: () => number,
    private readonly output: WebSocketOutput,
  ) {
    const nonce = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) this.randomBytes(nonce, i);
    this.key = base64(nonce);
  }

  /** The socket is connected: sends the upgrade request. */
  start(): void {
    const { host, port, tls, path } = this.target;
    const name = host.includes(":") ? `[${host}]` : host;
    const authority = port === (tls ? 443 : 80) ? name : `${name}:${port}`;
    const request = `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`;
    // As text: an HTTP request holds CR and LF, which an MQTT string may not.
    const bytes = new Uint8Array(utf8Length(request, true));
    writeUtf8(request, bytes, 0, true);
    this.output.send(bytes);
  }

  /** Whether MQTT may be sent. */
  get open(): boolean {
    return this.state === OPEN;
  }

  /** Bytes from the socket. */
  receive(bytes: Uint8Array): void {
    let i = 0;
    if (this.state === UPGRADING) {
      i = this.readHead(bytes);
      if (i < 0) return;
    }
    const n = bytes.length;
    while (i < n && this.state === OPEN) {
      if (this.remaining < 0) {
        i = this.readHeader(bytes, i);
        continue;
      }
      const take = Math.min(this.remaining, n - i);
      this.remaining -= take;
      if (this.opcode < OP_CLOSE) {
        if (take > 0) this.output.data(i === 0 && take === n ? bytes : bytes.subarray(i, i + take));
      } else {
        this.head!.set(bytes.subarray(i, i + take), this.headLength);
        this.headLength += take;
      }
      i += take;
      if (this.remaining === 0) this.frameDone();
    }
  }

  /** Sends `bytes` (one or more MQTT packets) as one binary frame. */
  write(bytes: Uint8Array): boolean {
    if (this.state !== OPEN) return true;
    return this.send(OP_BINARY, bytes, bytes.length);
  }

  /** Sends a close frame (1000) when open; nothing is received after. */
  close(): void {
    if (this.state === OPEN) this.sendClose(NORMAL);
    this.state = CLOSED;
  }

  /**
   * The socket failed: the error as the layer above should see it. A close or a reset during the upgrade is the
   * server hanging up on the request (mosquitto resets when a plain MQTT listener gets it, and closes when a
   * WebSocket one refuses it).
   */
  socketFailed(error: NetError): TransportError {
    const upgrading = this.state === UPGRADING;
    this.state = CLOSED;
    if (!upgrading || (error.code !== "closed" && error.code !== "reset")) return error;
    return { code: "ws", detail: this.headLength ? "bad_response" : "no_response" };
  }

  /** Reads the response head; returns where the frames start, or -1 when it is incomplete or failed. */
  private readHead(bytes: Uint8Array): number {
    let head = this.head;
    const start = this.headLength;
    const need = start + bytes.length;
    if (!head || head.length < need) {
      const grown = new Uint8Array(Math.min(MAX_HEAD, Math.max(256, need, head ? head.length * 2 : 0)));
      if (head) grown.set(head.subarray(0, start));
      head = this.head = grown;
    }
    const take = Math.min(bytes.length, head.length - start);
    head.set(bytes.subarray(0, take), start);
    this.headLength = start + take;
    // The blank line may straddle two reads: search from 3 bytes before the new ones.
    for (let k = Math.max(0, start - 3); k + 3 < this.headLength; k++) {
      if (head[k] === 13 && head[k + 1] === 10 && head[k + 2] === 13 && head[k + 3] === 10) {
        const problem = this.checkHead(k);
        this.head = undefined;
        this.headLength = 0;
        if (problem) {
          this.fail(problem, 0);
          return -1;
        }
        this.state = OPEN;
        this.output.open();
        return k + 4 - start;
      }
    }
    if (this.headLength >= MAX_HEAD) this.fail("response_too_large", 0);
    return -1;
  }

  /** What is wrong with the response head `head[0..end)`, or "" when it accepts the upgrade as we asked it. */
  private checkHead(end: number): string {
    const text = readUtf8(this.head!, 0, end);
    if (text === undefined) return "bad_response";
    const lines = text.split("\r\n");
    const status = lines[0];
    if (!status.startsWith("HTTP/1.") || status.charCodeAt(8) !== 32) return "bad_response";
    const code = status.slice(9, 12);
    if (!(code.length === 3 && digits(code) && (status.length === 12 || status.charCodeAt(12) === 32))) {
      return "bad_response";
    }
    if (code !== "101") return `http_${code}`;
    let upgrade = false;
    let connection = false;
    let accept: string | undefined;
    let protocol: string | undefined;
    let extensions = false;
    for (let l = 1; l < lines.length; l++) {
      const line = lines[l];
      const colon = line.indexOf(":");
      if (colon <= 0) return "bad_response";
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "upgrade") upgrade = value.toLowerCase() === "websocket";
      else if (name === "connection") {
        connection = value
          .toLowerCase()
          .split(",")
          .some((token) => token.trim() === "upgrade");
      } else if (name === "sec-websocket-accept") accept = value;
      else if (name === "sec-websocket-protocol") protocol = value;
      else if (name === "sec-websocket-extensions") extensions = true;
    }
    if (!upgrade || !connection) return "bad_upgrade";
    if (accept !== acceptFor(this.key)) return "bad_accept";
    if (protocol === undefined) return "no_subprotocol";
    if (protocol !== "mqtt") return "subprotocol";
    if (extensions) return "extension";
    return "";
  }

  /** Reads a frame header from `bytes[i..]`; returns where its payload starts. */
  private readHeader(bytes: Uint8Array, i: number): number {
    const frame = this.frame;
    const n = bytes.length;
    while (i < n) {
      frame[this.frameLength++] = bytes[i++];
      if (this.frameLength < 2) continue;
      const len7 = frame[1] & 0x7f;
      if (this.frameLength === 2) {
        const problem = this.checkFrame(frame[0], frame[1]);
        if (problem) {
          this.fail(problem, problem === "frame_text" ? UNSUPPORTED_DATA : PROTOCOL_ERROR);
          return n;
        }
      }
      const size = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (this.frameLength < size) continue;
      let length = len7;
      if (len7 === 126) length = (frame[2] << 8) | frame[3];
      else if (len7 === 127) {
        const high = ((frame[2] << 24) | (frame[3] << 16) | (frame[4] << 8) | frame[5]) >>> 0;
        // Lengths past 2^53 bytes are not a real frame (the top bit must be 0 anyway).
        if (high >= 0x200000) {
          this.fail("frame_length", PROTOCOL_ERROR);
          return n;
        }
        length = high * 0x100000000 + (((frame[6] << 24) | (frame[7] << 16) | (frame[8] << 8) | frame[9]) >>> 0);
      }
      this.frameLength = 0;
      this.opcode = frame[0] & 0x0f;
      this.remaining = length;
      if (this.opcode >= OP_CLOSE) {
        this.head ??= new Uint8Array(MAX_CONTROL);
        this.headLength = 0;
      }
      if (length === 0) this.frameDone();
      return i;
    }
    return i;
  }

  /** What is wrong with a frame's first two bytes, or "". */
  private checkFrame(b0: number, b1: number): string {
    // The server never masks (RFC 6455 5.1); no extension was agreed, so the reserved bits are 0.
    if (b1 & 0x80) return "frame_masked";
    if (b0 & 0x70) return "frame_reserved";
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    switch (opcode) {
      case OP_TEXT:
        return "frame_text";
      case OP_BINARY:
      case OP_CONTINUATION:
        if ((opcode === OP_CONTINUATION) !== this.fragmented) return "frame_continuation";
        this.fragmented = !fin;
        return "";
      case OP_CLOSE:
      case OP_PING:
      case OP_PONG:
        // Control frames are never fragmented and carry at most 125 bytes (RFC 6455 5.5).
        return fin && (b1 & 0x7f) <= MAX_CONTROL ? "" : "frame_control";
    }
    return "frame_opcode";
  }

  /** The current frame's payload is complete. */
  private frameDone(): void {
    this.remaining = -1;
    const opcode = this.opcode;
    if (opcode < OP_CLOSE || opcode === OP_PONG) return;
    const payload = this.head!.subarray(0, this.headLength);
    if (opcode === OP_PING) {
      this.send(OP_PONG, payload, payload.length);
      return;
    }
    // A close frame: its code, and a reason that is UTF-8 (else left out); answered with the same code.
    if (payload.length === 1) {
      this.fail("frame_control", PROTOCOL_ERROR);
      return;
    }
    const code = payload.length ? (payload[0] << 8) | payload[1] : NO_STATUS;
    const reason = payload.length > 2 ? readUtf8(payload, 2, payload.length, true) : undefined;
    if (code === NO_STATUS) this.send(OP_CLOSE, payload, 0);
    else this.sendClose(code);
    this.state = CLOSED;
    this.output.end({ code: "closed", detail: `close_${code}${reason ? `: ${reason}` : ""}` });
  }

  /** Ends with a WebSocket failure, telling the server why when the connection is open. */
  private fail(detail: string, closeCode: number): void {
    if (this.state === OPEN && closeCode) this.sendClose(closeCode);
    this.state = CLOSED;
    this.output.end({ code: "ws", detail });
  }

  private sendClose(code: number): void {
    const payload = this.frame.subarray(8, 10);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    this.send(OP_CLOSE, payload, 2);
  }

  /** Sends one final frame, masked with a fresh key (RFC 6455 5.3: every client frame, unpredictably). */
  private send(opcode: number, payload: Uint8Array, n: number): boolean {
    const size = (n < 126 ? 2 : n < 0x10000 ? 4 : 10) + 4;
    let out = this.out;
    if (out.length < size + n) out = this.out = new Uint8Array(size + n + 64);
    out[0] = 0x80 | opcode;
    if (n < 126) out[1] = 0x80 | n;
    else if (n < 0x10000) {
      out[1] = 0x80 | 126;
      out[2] = n >> 8;
      out[3] = n & 0xff;
    } else {
      out[1] = 0x80 | 127;
      out[2] = out[3] = out[4] = out[5] = 0;
      out[6] = n >>> 24;
      out[7] = n >>> 16;
      out[8] = n >>> 8;
      out[9] = n;
    }
    const m = size - 4;
    this.randomBytes(out, m);
    for (let k = 0; k < n; k++) out[size + k] = payload[k] ^ out[m + (k & 3)];
    return this.output.send(out.subarray(0, size + n));
  }

  /** Four random bytes at `at`: one draw gives 32 bits. */
  private randomBytes(into: Uint8Array, at: number): void {
    const r = Math.floor(this.random() * 0x100000000);
    into[at] = r >>> 24;
    into[at + 1] = r >>> 16;
    into[at + 2] = r >>> 8;
    into[at + 3] = r;
  }
}

function digits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 4.2.2). */
export function acceptFor(key: string): string {
  const text = key + GUID;
  const bytes = new Uint8Array(text.length);
  writeUtf8(text, bytes, 0);
  return base64(sha1(bytes));
}

/**
 * Opens a socket with `host.connect(options)` and a WebSocket over it to `target`; the Socket returned writes MQTT
 * bytes as binary frames, and close() sends a close frame first.
 */
export function connectWebSocket(
  host: Host,
  options: ConnectOptions,
  target: WebSocketTarget,
  handlers: WebSocketHandlers,
): Socket {
  let ended = false;
  const ws = new WebSocket(target, () => host.random(), {
    send: (bytes) => socket.write(bytes),
    open: () => handlers.onConnect(),
    data: (bytes) => handlers.onData(bytes),
    end: (error) => {
      ended = true;
      socket.close();
      handlers.onError(error);
    },
  });
  const socket = host.connect(options, {
    onResolved: (address) => handlers.onResolved?.(address),
    onConnect: () => {
      ws.start();
      handlers.onUpgrading?.();
    },
    onData: (bytes) => ws.receive(bytes),
    onWritable: () => handlers.onWritable(),
    onError: (error) => {
      if (ended) return;
      ended = true;
      handlers.onError(ws.socketFailed(error));
    },
  });
  return {
    write: (bytes) => ws.write(bytes),
    close: () => {
      if (ended) return;
      ended = true;
      ws.close();
      socket.close();
    },
  };
}
