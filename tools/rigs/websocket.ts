// MQTT over WebSocket for tests: mosquitto with WebSocket listeners (ws, and wss with a certificate), and a fake
// HTTP server on 127.0.0.1 that answers an upgrade in the ways mosquitto never does, chosen by the request's path.
//
// mosquitto 2.0.11 facts (checked): a `protocol websockets` listener needs a plain MQTT listener beside it (the
// rig's own) and binds every address whatever address is given; it ignores the path; it closes the connection
// without an HTTP answer when the client offers no subprotocol `mqtt`; its plain listener resets a connection that
// sends it an HTTP request; it answers an upgrade after 150 to 200 ms and sends large frames slowly (about 25 ms per
// KB), to MQTT.js too.

import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { freePort, type Mosquitto, startMosquitto } from "./mosquitto";
import type { KeyPair } from "./tls";

export interface WebSocketMosquitto {
  mosquitto: Mosquitto;
  /** Port of the ws listener. */
  ws: number;
  /** Port of the wss listener, when started with a key pair. */
  wss?: number;
}

/**
 * mosquitto with a WebSocket listener, and a TLS one with `pair` (its certificate file may hold the chain); `ports`
 * of an earlier one start it again where it was.
 */
export async function startWebSocketMosquitto(
  pair?: KeyPair,
  ports?: { port: number; ws: number; wss?: number },
): Promise<WebSocketMosquitto> {
  const ws = ports?.ws ?? (await freePort());
  const wss = pair ? (ports?.wss ?? (await freePort())) : undefined;
  const config = [`listener ${ws} 127.0.0.1`, "protocol websockets"];
  const files: Record<string, string> = {};
  if (pair) {
    config.push(`listener ${wss} 127.0.0.1`, "protocol websockets", "certfile cert.pem", "keyfile key.pem");
    files["cert.pem"] = readFileSync(pair.cert, "utf8");
    files["key.pem"] = readFileSync(pair.key, "utf8");
  }
  return { mosquitto: await startMosquitto({ config, files, port: ports?.port }), ws, wss };
}

/**
 * The fake server's answers, by path: `/missing` 404; `/chat` 101 with the subprotocol chat; `/bare` 101 without a
 * subprotocol; `/forged` 101 with a wrong Sec-WebSocket-Accept; anything else: no answer at all.
 */
export const FAKE_PATHS = Object.freeze({
  http_404: "/missing",
  subprotocol: "/chat",
  no_subprotocol: "/bare",
  bad_accept: "/forged",
  response_timeout: "/silent",
});

function answer(path: string, key: string): string | undefined {
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  const upgrade = (accepted: string, extra: string) =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accepted}\r\n${extra}\r\n`;
  switch (path) {
    case FAKE_PATHS.http_404:
      return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    case FAKE_PATHS.subprotocol:
      return upgrade(accept, "Sec-WebSocket-Protocol: chat\r\n");
    case FAKE_PATHS.no_subprotocol:
      return upgrade(accept, "");
    case FAKE_PATHS.bad_accept:
      return upgrade("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "Sec-WebSocket-Protocol: mqtt\r\n");
  }
  return undefined;
}

export interface FakeWebSocketServer {
  port: number;
  /** `ws://127.0.0.1:<port><path>` */
  url(path: string): string;
  close(): Promise<void>;
}

/** Starts the fake server on a free 127.0.0.1 port. */
export async function startFakeWebSocketServer(): Promise<FakeWebSocketServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const path = /^GET (\S+) /.exec(head)?.[1] ?? "";
      const key = /\r\nSec-WebSocket-Key: (\S+)\r\n/i.exec(head)?.[1] ?? "";
      const reply = answer(path, key);
      if (reply !== undefined) socket.end(reply);
      head = "";
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
