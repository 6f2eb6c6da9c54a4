// One simulated device socket on a real Node socket (node:net, node:tls), and how Node's failures map onto the
// NetError codes of modules/host.ts, so the firmware sees the same shapes as on a device.

import { lookup } from "node:dns";
import { readFileSync } from "node:fs";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { ConnectOptions, NetError, NetErrorCode } from "tether/host";

const BY_ERRNO: Record<string, NetErrorCode> = {
  ECONNREFUSED: "refused",
  ETIMEDOUT: "timeout",
  ECONNRESET: "reset",
  ECONNABORTED: "reset",
  EPIPE: "reset",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  EAI_NONAME: "dns",
  EAI_FAIL: "dns",
  EAI_NODATA: "dns",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  ENETDOWN: "unreachable",
  EHOSTDOWN: "unreachable",
  EADDRNOTAVAIL: "unreachable",
};

// OpenSSL's verification results (Node puts them in error.code) and Node's own name check.
const TLS_DETAIL: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unknown_ca",
  UNABLE_TO_GET_ISSUER_CERT: "unknown_ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unknown_ca",
  SELF_SIGNED_CERT_IN_CHAIN: "unknown_ca",
  DEPTH_ZERO_SELF_SIGNED_CERT: "unknown_ca",
  CERT_UNTRUSTED: "unknown_ca",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "name_mismatch",
};

/** Maps a Node socket or DNS error; `handshaking` is true between the TCP connect and the end of the TLS handshake. */
export function netError(error: NodeJS.ErrnoException, handshaking = false): NetError {
  const code = error.code ?? "";
  const tlsDetail = TLS_DETAIL[code];
  if (tlsDetail) return { code: "tls", detail: tlsDetail };
  // Whatever kills a handshake (an alert, a peer that hangs up on a ClientHello) is a TLS failure to the firmware.
  if (handshaking) return { code: "tls", detail: "handshake" };
  return { code: BY_ERRNO[code] ?? "reset", detail: code || error.message };
}

/** What a socket reports to the device; each becomes an event for the firmware. */
export interface SocketEvents {
  resolved(address: string): void;
  connected(): void;
  /** Reading stops until the returned promise settles: back-pressure from the firmware to the peer. */
  data(bytes: Buffer): Promise<void>;
  writable(): void;
  /** The last event; an orderly close by the peer is `closed`. */
  failed(error: NetError): void;
}

/** How long a socket closed by the firmware may wait for the peer's FIN before it is destroyed. */
const LINGER_MS = 2000;

export class SimSocket {
  /** Resolves once the real socket is gone (or was never opened); then nothing of it is left. */
  readonly closed: Promise<void>;
  private socket: Socket | undefined;
  private readonly deadline: NodeJS.Timeout;
  /** Failed or closed by the firmware: no more events. */
  private done = false;
  private held = false;
  private delivering = false;
  private markClosed!: () => void;

  constructor(
    private readonly options: ConnectOptions,
    private readonly events: SocketEvents,
  ) {
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    // One deadline for resolution, TCP connect and TLS handshake, as ConnectOptions.timeout says.
    this.deadline = setTimeout(() => this.fail({ code: "timeout", detail: "connect timeout" }), options.timeout);
    if (isIP(options.host)) {
      this.dial(options.host);
      return;
    }
    lookup(options.host, { family: 4 }, (error, address) => {
      if (this.done) return;
      if (error) this.fail(netError(error));
      else this.dial(address);
    });
  }

  /** Queues bytes; false when Node's buffer is over its mark (the bytes were still taken). */
  write(bytes: Uint8Array): boolean {
    if (this.done || !this.socket) return true;
    return this.socket.write(bytes);
  }

  /** The firmware closed it: pending bytes go out, then FIN. */
  close(): void {
    if (this.done) return;
    this.finish();
    const socket = this.socket;
    if (!socket) return;
    if (this.held) socket.uncork();
    socket.end();
    socket.resume();
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once("close", () => clearTimeout(linger));
  }

  /** The device died: the peer sees a reset at once, as when a device reboots and answers with RST. */
  reset(): void {
    this.finish();
    if (!this.socket) return;
    try {
      this.socket.resetAndDestroy();
    } catch {
      // Only a plain TCP handle can send RST; a TLS socket (or one already gone) just closes.
      this.socket.destroy();
    }
  }

  /**
   * Link down: the connection goes silent, as when Wi-Fi drops: nothing is read and writes wait in the buffer.
   * TCP keeps the connection; when the link returns both directions resume, unless a peer gave up meanwhile.
   */
  hold(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    if (!this.socket) return;
    if (held) {
      this.socket.pause();
      this.socket.cork();
    } else {
      this.socket.uncork();
      if (!this.delivering) this.socket.resume();
    }
  }

  private dial(address: string): void {
    this.events.resolved(address);
    const { port, tls } = this.options;
    let ca: Buffer[] | undefined;
    try {
      ca = tls?.ca?.map((file) => readFileSync(file));
    } catch (error) {
      this.fail({ code: "tls", detail: `ca unreadable: ${(error as NodeJS.ErrnoException).code}` });
      return;
    }
    const serverName = tls?.serverName ?? this.options.host;
    const socket = tls
      ? tlsConnect({
          host: address,
          port,
          // SNI carries names only; with an address the certificate is checked against the address.
          servername: isIP(serverName) ? undefined : serverName,
          rejectUnauthorized: tls.verify !== false,
          ca,
        })
      : tcpConnect({ host: address, port });
    this.socket = socket;
    let tcpUp = false;
    let established = false;
    socket.once("connect", () => {
      tcpUp = true;
    });
    socket.once(tls ? "secureConnect" : "connect", () => {
      established = true;
      clearTimeout(this.deadline);
      if (!this.done) this.events.connected();
    });
    socket.on("data", (bytes: Buffer) => this.deliver(socket, bytes));
    socket.on("drain", () => {
      if (!this.done) this.events.writable();
    });
    socket.on("end", () => this.fail({ code: "closed" }));
    socket.on("error", (error) => this.fail(netError(error, tls !== undefined && tcpUp && !established)));
    socket.once("close", () => this.markClosed());
    if (this.held) {
      socket.pause();
      socket.cork();
    }
  }

  private deliver(socket: Socket, bytes: Buffer): void {
    if (this.done) return;
    socket.pause();
    this.delivering = true;
    this.events.data(bytes).finally(() => {
      this.delivering = false;
      if (!this.held && !this.done) socket.resume();
    });
  }

  private fail(error: NetError): void {
    if (this.done) return;
    this.finish();
    this.socket?.destroy();
    this.events.failed(error);
  }

  private finish(): void {
    this.done = true;
    clearTimeout(this.deadline);
    if (!this.socket) this.markClosed();
  }
}
