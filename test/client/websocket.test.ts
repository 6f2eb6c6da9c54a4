// The WebSocket layer as a pure state machine: the upgrade request and the strict check of the answer, then the
// frames both ways (lengths of every size, split anywhere, fragments, control frames, masking), and every way a
// server can get it wrong, each named. Answers are built here with Node's crypto, independently of sha1.ts.

import { createHash, randomBytes } from "node:crypto";
import { base64, sha1 } from "tether/client/sha1";
import type { TransportError, WebSocketTarget } from "tether/client/transport";
import { acceptFor, WebSocket } from "tether/client/websocket";

const TARGET: WebSocketTarget = { host: "broker.example", port: 8080, tls: false, path: "/mqtt" };

function nodeAccept(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

/** A WebSocket with its output recorded; `random` is Math.random unless given. */
function harness(target = TARGET, random: () => number = Math.random) {
  const sent: Buffer[] = [];
  const data: Buffer[] = [];
  const ends: TransportError[] = [];
  let opened = 0;
  const ws = new WebSocket(target, random, {
    send: (bytes) => {
      sent.push(Buffer.from(bytes));
      return true;
    },
    open: () => opened++,
    data: (bytes) => data.push(Buffer.from(bytes)),
    end: (error) => ends.push(error),
  });
  ws.start();
  const request = sent[0].toString("latin1");
  const key = /\r\nSec-WebSocket-Key: (\S+)\r\n/.exec(request)?.[1] ?? "";
  const accept = (extra = "", acceptValue = nodeAccept(key)) =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue}\r\n${extra}\r\n`;
  return {
    ws,
    sent,
    data,
    ends,
    request,
    key,
    accept,
    opened: () => opened,
    receive: (bytes: Buffer | string) =>
      ws.receive(new Uint8Array(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes)),
    /** The upgrade done with a proper answer. */
    open() {
      this.receive(accept("Sec-WebSocket-Protocol: mqtt\r\n"));
      expect(opened).toBe(1);
      sent.length = 0;
    },
    /** The frames the client sent, unmasked. */
    frames: () => sent.map(unmask),
  };
}

/** A server frame: FIN, opcode, unmasked, with the shortest length encoding unless `wide`. */
function frame(opcode: number, payload: Buffer, fin = true, wide = false): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126 && !wide) head = Buffer.from([(fin ? 0x80 : 0) | opcode, n]);
  else if (n < 0x10000 && !wide) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 126, n >> 8, n & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

interface ClientFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  mask: Buffer;
  payload: Buffer;
}

function unmask(bytes: Buffer): ClientFrame {
  const len7 = bytes[1] & 0x7f;
  let at = 2;
  let n = len7;
  if (len7 === 126) {
    n = bytes.readUInt16BE(2);
    at = 4;
  } else if (len7 === 127) {
    n = Number(bytes.readBigUInt64BE(2));
    at = 10;
  }
  const mask = bytes.subarray(at, at + 4);
  const payload = Buffer.from(bytes.subarray(at + 4));
  expect(payload.length).toBe(n);
  for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3];
  return { fin: (bytes[0] & 0x80) !== 0, opcode: bytes[0] & 0x0f, masked: (bytes[1] & 0x80) !== 0, mask, payload };
}

describe("SHA-1, base64 and the accept value", () => {
  test("RFC 6455's sample key gives its accept value", () => {
    expect(acceptFor("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  test("sha1 and base64 agree with Node's crypto at every length across the padding boundaries", () => {
    for (let n = 0; n < 200; n++) {
      const bytes = randomBytes(n);
      expect(Buffer.from(sha1(bytes)).toString("hex")).toBe(createHash("sha1").update(bytes).digest("hex"));
      expect(base64(bytes)).toBe(bytes.toString("base64"));
    }
    const big = randomBytes(100_000);
    expect(Buffer.from(sha1(big)).toString("hex")).toBe(createHash("sha1").update(big).digest("hex"));
  });
});

describe("the upgrade", () => {
  test("the request asks for a WebSocket with the subprotocol mqtt, a fresh 16-byte key, and the path", () => {
    const { request, key } = harness();
    const lines = request.split("\r\n");
    expect(lines[0]).toBe("GET /mqtt HTTP/1.1");
    expect(lines).toEqual(
      expect.arrayContaining([
        "Host: broker.example:8080",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: mqtt",
      ]),
    );
    expect(request.endsWith("\r\n\r\n")).toBe(true);
    expect(Buffer.from(key, "base64")).toHaveLength(16);
    expect(harness().key).not.toBe(key);
  });

  test("the Host header leaves out the scheme's default port and brackets IPv6", () => {
    const host = (target: WebSocketTarget) => /\r\nHost: (\S+)\r\n/.exec(harness(target).request)?.[1];
    expect(host({ host: "b.example", port: 80, tls: false, path: "/" })).toBe("b.example");
    expect(host({ host: "b.example", port: 443, tls: true, path: "/" })).toBe("b.example");
    expect(host({ host: "b.example", port: 443, tls: false, path: "/" })).toBe("b.example:443");
    expect(host({ host: "::1", port: 9001, tls: false, path: "/" })).toBe("[::1]:9001");
    expect(harness({ ...TARGET, path: "/ws?x=1" }).request.startsWith("GET /ws?x=1 HTTP/1.1\r\n")).toBe(true);
  });

  test("a proper answer opens it, read a byte at a time, with headers in any case and order", () => {
    const h = harness();
    const answer = `HTTP/1.1 101 Switching Protocols\r\nsec-websocket-protocol: mqtt\r\nCONNECTION: keep-alive, Upgrade\r\nupgrade: WebSocket\r\nSec-WebSocket-Accept:${nodeAccept(h.key)}\r\nServer: x\r\n\r\n`;
    for (const byte of Buffer.from(`${answer}`, "latin1")) h.receive(Buffer.from([byte]));
    expect(h.opened()).toBe(1);
    expect(h.ws.open).toBe(true);
    expect(h.ends).toEqual([]);
  });

  test("frames in the same read as the answer are not lost", () => {
    const h = harness();
    h.receive(
      Buffer.concat([
        Buffer.from(h.accept("Sec-WebSocket-Protocol: mqtt\r\n"), "latin1"),
        frame(2, Buffer.from([0x20, 2, 0, 0])),
      ]),
    );
    expect(h.opened()).toBe(1);
    expect(Buffer.concat(h.data).toString("hex")).toBe("20020000");
  });

  test.each<[string, (h: ReturnType<typeof harness>) => string]>([
    ["http_404", () => "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"],
    ["http_400", () => "HTTP/1.0 400 Bad Request\r\n\r\n"],
    ["bad_accept", (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\n", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")],
    ["bad_accept", (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\n", nodeAccept("dGhlIHNhbXBsZSBub25jZQ=="))],
    ["subprotocol", (h) => h.accept("Sec-WebSocket-Protocol: chat\r\n")],
    ["no_subprotocol", (h) => h.accept()],
    ["extension", (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Extensions: permessage-deflate\r\n")],
    ["bad_upgrade", (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\n").replace("Upgrade: websocket\r\n", "")],
    [
      "bad_upgrade",
      (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\n").replace("Connection: Upgrade", "Connection: close"),
    ],
    ["bad_response", () => "SSH-2.0-OpenSSH_9.2\r\n\r\n"],
    ["bad_response", () => "HTTP/1.1 10 Short\r\n\r\n"],
    ["bad_response", (h) => h.accept("Sec-WebSocket-Protocol: mqtt\r\nno colon here\r\n")],
    ["response_too_large", () => `HTTP/1.1 101 Switching Protocols\r\nX: ${"a".repeat(9000)}`],
  ])("an answer that does not accept the upgrade as asked is named %s", (detail, answer) => {
    const h = harness();
    h.receive(answer(h));
    expect(h.ends).toEqual([{ code: "ws", detail }]);
    expect(h.opened()).toBe(0);
    expect(h.sent).toHaveLength(1); // the request only: no close frame on a WebSocket never opened
  });

  test("a socket closed during the upgrade is a refusal: with no answer, or half of one", () => {
    expect(harness().ws.socketFailed({ code: "closed" })).toEqual({ code: "ws", detail: "no_response" });
    const h = harness();
    h.receive("HTTP/1.1 101 Swi");
    expect(h.ws.socketFailed({ code: "closed" })).toEqual({ code: "ws", detail: "bad_response" });
    // A reset is a refusal too (mosquitto's plain listener resets); other failures keep their own names, and a
    // close or reset once open is the broker's.
    expect(harness().ws.socketFailed({ code: "reset", detail: "ECONNRESET" })).toEqual({
      code: "ws",
      detail: "no_response",
    });
    expect(harness().ws.socketFailed({ code: "unreachable" })).toEqual({ code: "unreachable" });
    const o = harness();
    o.open();
    expect(o.ws.socketFailed({ code: "reset" })).toEqual({ code: "reset" });
    expect(o.ws.socketFailed({ code: "closed" })).toEqual({ code: "closed" });
  });
});

describe("frames from the server", () => {
  test("binary frames of every length encoding, fragments and interleaved pings make one byte stream", () => {
    const h = harness();
    h.open();
    const parts = [
      randomBytes(5),
      randomBytes(300),
      randomBytes(70_000),
      randomBytes(10),
      randomBytes(0),
      randomBytes(20),
    ];
    const stream = Buffer.concat([
      frame(2, parts[0]),
      frame(2, parts[1]),
      frame(2, parts[2]),
      frame(2, parts[3], false), // a message in fragments, a ping in between
      frame(9, Buffer.from("hi")),
      frame(0, parts[4], false),
      frame(0, parts[5], true, true), // a 64-bit length for 20 bytes is allowed
      frame(10, Buffer.from("unsolicited pong")),
    ]);
    // Split at many places, including inside headers.
    for (let i = 0; i < stream.length; ) {
      const n = 1 + ((i * 7919) % 3001);
      h.receive(stream.subarray(i, i + n));
      i += n;
    }
    expect(Buffer.concat(h.data).equals(Buffer.concat(parts))).toBe(true);
    expect(h.ends).toEqual([]);
    const pongs = h.frames();
    expect(pongs).toHaveLength(1);
    expect(pongs[0]).toMatchObject({ fin: true, opcode: 10, masked: true });
    expect(pongs[0].payload.toString()).toBe("hi");
  });

  test("a payload that is a whole read is handed on as it is, without a copy", () => {
    const received: Uint8Array[] = [];
    const ws = new WebSocket(TARGET, Math.random, {
      send: () => true,
      open: () => {},
      data: (bytes) => received.push(bytes),
      end: () => {},
    });
    ws.start();
    const key = (ws as unknown as { key: string }).key;
    const answer = `HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${nodeAccept(key)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`;
    ws.receive(new Uint8Array(Buffer.from(answer, "latin1")));
    ws.receive(new Uint8Array([0x02, 3]));
    const payload = new Uint8Array([1, 2, 3]);
    ws.receive(payload);
    expect(received).toHaveLength(1);
    expect(received[0]).toBe(payload);
  });

  test("a close frame is answered with its code and ends the link as the broker's orderly close, with its reason", () => {
    const h = harness();
    h.open();
    h.receive(frame(8, Buffer.concat([Buffer.from([0x03, 0xe9]), Buffer.from("going away")])));
    expect(h.ends).toEqual([{ code: "closed", detail: "close_1001: going away" }]);
    const [reply] = h.frames();
    expect(reply).toMatchObject({ opcode: 8, masked: true });
    expect(reply.payload.readUInt16BE(0)).toBe(1001);
    h.receive(frame(2, Buffer.from([1]))); // nothing after the end
    expect(h.data).toEqual([]);

    const empty = harness();
    empty.open();
    empty.receive(frame(8, Buffer.alloc(0)));
    expect(empty.ends).toEqual([{ code: "closed", detail: "close_1005" }]);
    expect(empty.frames()[0]).toMatchObject({ opcode: 8, payload: Buffer.alloc(0) });
  });

  test.each<[string, Buffer, number]>([
    ["frame_masked", Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]), 1002],
    ["frame_reserved", Buffer.from([0xc2, 0x01, 0]), 1002],
    ["frame_opcode", Buffer.from([0x83, 0x00]), 1002],
    ["frame_text", Buffer.from([0x81, 0x01, 0x41]), 1003],
    ["frame_control", Buffer.from([0x09, 0x00]), 1002], // a fragmented ping
    ["frame_control", frame(9, Buffer.alloc(126)), 1002], // a ping too long
    ["frame_control", Buffer.from([0x88, 0x01, 0x03]), 1002], // a close code of one byte
    ["frame_continuation", frame(0, Buffer.from([1])), 1002], // nothing to continue
    ["frame_continuation", Buffer.concat([frame(2, Buffer.from([1]), false), frame(2, Buffer.from([2]))]), 1002],
    ["frame_length", Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]), 1002],
  ])("a frame no server may send is named %s and answered with a close frame", (detail, bytes, code) => {
    const h = harness();
    h.open();
    h.receive(bytes);
    expect(h.ends).toEqual([{ code: "ws", detail }]);
    const close = h.frames().at(-1)!;
    expect(close).toMatchObject({ opcode: 8, masked: true });
    expect(close.payload.readUInt16BE(0)).toBe(code);
  });
});

describe("frames to the server", () => {
  test("each write is one final binary frame, masked with a fresh key, at every length encoding", () => {
    const h = harness();
    h.open();
    const payloads = [
      randomBytes(1),
      randomBytes(125),
      randomBytes(126),
      randomBytes(65535),
      randomBytes(65536),
      randomBytes(200_000),
    ];
    for (const p of payloads) h.ws.write(new Uint8Array(p));
    const frames = h.frames();
    expect(frames.map((f) => [f.fin, f.opcode, f.masked])).toEqual(payloads.map(() => [true, 2, true]));
    expect(frames.map((f, i) => f.payload.equals(payloads[i]))).toEqual(payloads.map(() => true));
    expect(new Set(frames.map((f) => f.mask.toString("hex"))).size).toBe(frames.length);
    // The 7-, 16- and 64-bit lengths as RFC 6455 5.2 asks: the shortest that fits.
    expect(h.sent.map((b) => b[1] & 0x7f)).toEqual([1, 125, 126, 126, 127, 127]);
  });

  test("nothing is sent before the upgrade, and close() sends close 1000 once", () => {
    const h = harness();
    h.ws.write(new Uint8Array([0xc0, 0]));
    expect(h.sent).toHaveLength(1); // the request
    h.open();
    h.ws.close();
    h.ws.close();
    h.ws.write(new Uint8Array([0xc0, 0]));
    const frames = h.frames();
    expect(frames).toHaveLength(1);
    expect(frames[0].opcode).toBe(8);
    expect(frames[0].payload.readUInt16BE(0)).toBe(1000);
  });

  test("the masking keys and the nonce come from the host's random source", () => {
    const h = harness(TARGET, () => 0.5);
    expect(Buffer.from(h.key, "base64").toString("hex")).toBe("80000000".repeat(4));
    h.open();
    h.ws.write(new Uint8Array([1, 2]));
    expect(h.frames()[0].mask.toString("hex")).toBe("80000000");
  });
});
