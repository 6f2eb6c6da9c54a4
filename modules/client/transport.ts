// What an MQTT connection runs over, as types only: a host socket, or a WebSocket on one (tether/client/websocket).
// Apart from the WebSocket layer, so that the supervisor, the connection and the diagnostics name its errors and
// take it as an option without importing it: a build for plain mqtt:// carries no WebSocket code at all.
import type { ConnectOptions, Host, NetError, Socket } from "tether/host";

/**
 * A WebSocket failure (`code` "ws"), named by `detail`:
 * - the upgrade: `no_response` (the server closed or reset the connection without an HTTP answer: not a WebSocket
 *   listener, or it refused the request, as mosquitto does for a subprotocol other than mqtt), `response_timeout`, `http_<status>` (the
 *   server answered but did not switch protocols: 404 wrong path, 400, 426...), `bad_upgrade` (no Upgrade:
 *   websocket / Connection: Upgrade), `bad_accept` (Sec-WebSocket-Accept is not the one for our key: not a
 *   WebSocket server, or a proxy in the way), `no_subprotocol` / `subprotocol` (the server did not agree to mqtt),
 *   `extension` (an extension we did not offer), `bad_response`, `response_too_large`;
 * - the frames the server sent after it: `frame_masked`, `frame_reserved`, `frame_opcode`, `frame_text` (MQTT is
 *   carried in binary frames only), `frame_control`, `frame_continuation`, `frame_length`;
 * - `not_built`: the build has no WebSocket layer (the supervisor's; see ClientConfig.webSocket).
 * A close frame from the server is an orderly close: NetError `closed` with detail `close_<code>[: reason]`.
 */
export interface WsError {
  code: "ws";
  detail: string;
}

/** How a socket ends, at any layer below MQTT. */
export type TransportError = NetError | WsError;

/** Where the upgrade request goes: the Host header and the request target. */
export interface WebSocketTarget {
  host: string;
  port: number;
  tls: boolean;
  /** Starts with `/`; may hold a query. */
  path: string;
}

/** SocketHandlers of a WebSocket: onError may name a WebSocket failure; onUpgrading marks the socket's connect. */
export interface WebSocketHandlers {
  onResolved?(address: string): void;
  /** The socket (and its TLS) is connected and the upgrade request sent. */
  onUpgrading?(): void;
  /** The server accepted the upgrade. */
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  onWritable(): void;
  onError(error: TransportError): void;
}

/** Opens a socket with a WebSocket over it to `target` (tether/client/websocket's connectWebSocket). */
export type WebSocketDialer = (
  host: Host,
  options: ConnectOptions,
  target: WebSocketTarget,
  handlers: WebSocketHandlers,
) => Socket;
