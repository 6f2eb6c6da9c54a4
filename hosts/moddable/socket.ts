// Host.connect and Host.resolve on ECMA-419 sockets. Moddable's sockets take a dotted address, so names are
// resolved first with Net.resolve. What the platform cannot tell apart (docs/moddable.md has the table):
// - onError carries no reason: before the connection is up it is reported as `refused` (lwIP gives up on an
//   unanswered SYN later than any sensible timeout, which then fires first as `timeout`); after, as `closed`,
//   whether the peer sent FIN or RST.
// - TLS is hosts/moddable/tls, in the build only where the application's manifest includes manifest_tls.json:
//   found by name (Modules.has), so that a build for plain mqtt:// carries none of it. Without it, an mqtts://
//   dial fails as `tls` `not_built`.
import TCP from "embedded:io/socket/tcp";
import { message } from "hosts/moddable/platform";
import { Entry, type Timers } from "hosts/moddable/timers";
import Modules from "modules";
// biome-ignore lint/style/useNodejsImportProtocol: Moddable's net module, not Node's
import Net from "net";
import type { ConnectOptions, NetError, Socket, SocketHandlers, Timer, TlsOptions } from "tether/host";

const TLS = "hosts/moddable/tls";
const QUEUE_INITIAL = 1024;
/** Where `localhost` is: the SDK's resolver keeps only an IPv4 first answer, and the system's first is often ::1. */
const LOOPBACK = "127.0.0.1";

type Resolved = (address: string | undefined, error?: NetError) => void;

/** What TCP and TLSSocket have in common, as this module uses them. */
export interface Stream {
  read(): unknown;
  write(bytes: Uint8Array): unknown;
  close(): void;
}

/** A connection, as the TLS layer reports to it. */
export interface TlsOwner {
  /** The handshake is over and the connection up. */
  readonly connected: boolean;
  /** Set when the TCP connection under TLS is up (a failure after it is the handshake's). */
  tcpOpen: boolean;
  fail(error: NetError): void;
}

/** The TCP options of a connection, as made for a plain one. */
export interface Base {
  address: string;
  port: number;
  nodelay: boolean;
  onReadable(): void;
  onWritable(count: number): void;
  onError(): void;
}

/**
 * hosts/moddable/tls's openTls: a TLS stream over TCP to `base.address`, and the evidence it keeps until the
 * handshake ends; undefined when it failed at once (reported to `owner`).
 */
export type OpenTls = (
  base: Base,
  host: string,
  tls: TlsOptions,
  owner: TlsOwner,
) => { stream: Stream; evidence: { drop(): void } } | undefined;

function later(timers: Timers, callback: () => void): void {
  timers.timer(callback).schedule(0);
}

/** Whether `name` is a dotted IPv4 address (four decimal numbers of 1 to 3 digits), which needs no lookup. */
function isIPv4(name: string): boolean {
  let parts = 1;
  let digits = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++parts > 4) return false;
      digits = 0;
    } else if (c >= 48 && c <= 57 && ++digits <= 3) continue;
    else return false;
  }
  return parts === 4 && digits > 0;
}

export function resolve(name: string, callback: Resolved, timers: Timers): void {
  const address = name === "localhost" ? LOOPBACK : isIPv4(name) ? name : undefined;
  if (address) {
    later(timers, () => callback(address));
    return;
  }
  try {
    Net.resolve(name, (_name: string, address?: string) =>
      address ? callback(address) : callback(undefined, { code: "dns", detail: "not_found" }),
    );
  } catch (error) {
    later(timers, () => callback(undefined, { code: "dns", detail: message(error) }));
  }
}

/**
 * One connection: a class, not a closure per callback, because every closure a connection made would be heap on the
 * device for as long as it lives; the methods are in flash with the preloaded module. Bytes the socket cannot take
 * yet wait in a queue made only when that first happens.
 */
class Connection implements Socket, TlsOwner {
  private stream: Stream | undefined;
  private dead = false;
  connected = false;
  tcpOpen = false;
  private blocked = false;
  private writable = 0;
  private queue: Uint8Array | undefined;
  private head = 0;
  private tail = 0;
  /** The TLS handshake's evidence, kept until the handshake ends (hosts/moddable/tls). */
  private evidence: { drop(): void } | undefined;
  /** The deadline to be open, until it is (or the connection ends): dropped then, the connection lives on. */
  private timeout: Timer | undefined;

  constructor(
    private readonly options: ConnectOptions,
    private readonly handlers: SocketHandlers,
    private readonly timers: Timers,
  ) {
    this.timeout = new ConnectTimeout(timers, this);
    this.timeout.schedule(options.timeout);
    resolve(options.host, (address, error) => this.resolved(address, error), timers);
  }

  write(bytes: Uint8Array): boolean {
    if (this.dead) return false;
    let sent = 0;
    if (this.connected && this.head === this.tail && this.writable > 0) {
      sent = Math.min(bytes.length, this.writable);
      try {
        this.send(sent === bytes.length ? bytes : bytes.subarray(0, sent));
      } catch (error) {
        later(this.timers, () => this.fail({ code: "reset", detail: message(error) }));
        return false;
      }
    }
    if (sent < bytes.length) {
      this.enqueue(sent ? bytes.subarray(sent) : bytes);
      this.blocked = true;
    }
    return !this.blocked;
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.timeout?.cancel();
    this.timeout = undefined;
    this.stream?.close();
    this.stream = undefined;
  }

  fail(error: NetError): void {
    if (this.dead) return;
    this.close();
    this.handlers.onError(error);
  }

  private resolved(address: string | undefined, error: NetError | undefined): void {
    if (this.dead) return;
    if (!address) this.fail(error ?? { code: "dns" });
    else {
      this.handlers.onResolved?.(address);
      if (!this.dead) this.open(address);
    }
  }

  // The socket's callbacks (see onReadable below).
  errored(): void {
    if (this.connected) this.fail({ code: "closed", detail: "fin_or_rst" });
    else if (this.tcpOpen) this.fail({ code: "tls", detail: "handshake" });
    else this.fail({ code: "refused" });
  }

  readable(): void {
    const data = this.stream?.read();
    if (data instanceof ArrayBuffer) this.handlers.onData(new Uint8Array(data));
  }

  canWrite(count: number): void {
    if (this.dead) return;
    this.writable = count;
    if (!this.connected) {
      this.connected = true;
      this.evidence?.drop();
      this.timeout?.cancel();
      this.timeout = undefined;
      this.handlers.onConnect();
    }
    this.flush();
  }

  private send(bytes: Uint8Array): void {
    // TLSSocket.write answers how much more it takes; TCP.write answers nothing.
    const left: unknown = this.stream?.write(bytes);
    this.writable = typeof left === "number" ? left : this.writable - bytes.length;
  }

  private flush(): void {
    const queue = this.queue;
    if (!queue) return;
    try {
      while (!this.dead && this.head < this.tail && this.writable > 0) {
        const n = Math.min(this.tail - this.head, this.writable);
        this.send(queue.subarray(this.head, this.head + n));
        this.head += n;
      }
    } catch (error) {
      // Only ever called once connected (from onWritable): a write that fails now is a lost connection.
      this.fail({ code: "reset", detail: message(error) });
      return;
    }
    if (this.head < this.tail || this.dead) return;
    this.head = this.tail = 0;
    // A queue a burst grew (a large message, a backlog after a reconnect) is heap for as long as the connection
    // lives: it goes once drained, and the next block makes a small one again.
    if (queue.length > QUEUE_INITIAL) this.queue = undefined;
    if (this.blocked) {
      this.blocked = false;
      this.handlers.onWritable();
    }
  }

  private enqueue(bytes: Uint8Array): void {
    const queue = this.queue ?? new Uint8Array(Math.max(QUEUE_INITIAL, bytes.length));
    const pending = this.tail - this.head;
    let target = queue;
    if (this.tail + bytes.length > queue.length) {
      if (pending + bytes.length > queue.length)
        target = new Uint8Array(Math.max(queue.length * 2, pending + bytes.length));
      target.set(queue.subarray(this.head, this.tail));
      this.head = 0;
      this.tail = pending;
    }
    target.set(bytes, this.tail);
    this.tail += bytes.length;
    this.queue = target;
  }

  private open(address: string): void {
    const options = this.options;
    const tls = options.tls;
    try {
      if (!tls) {
        this.stream = new TCP({
          address,
          port: options.port,
          nodelay: true,
          target: this,
          onReadable,
          onWritable,
          onError,
        });
        return;
      }
      if (!Modules.has(TLS)) {
        this.fail({ code: "tls", detail: "not_built" });
        return;
      }
      // TLS calls its callbacks without the socket: closures here (a plain socket's are shared, below).
      const base: Base = {
        address,
        port: options.port,
        nodelay: true,
        onReadable: () => this.readable(),
        onWritable: (count: number) => this.canWrite(count),
        onError: () => this.errored(),
      };
      const open = (Modules.importNow(TLS, true) as { openTls: OpenTls }).openTls;
      const opened = open(base, options.host, tls, this);
      if (!opened) return;
      this.evidence = opened.evidence;
      this.stream = opened.stream;
    } catch (error) {
      // The TLS socket checks the trusted CA itself when made: out of its dates (or the clock not set yet).
      const text = message(error);
      this.fail(
        options.tls && text.includes("date")
          ? { code: "tls", detail: "ca_expired" }
          : { code: "unreachable", detail: text },
      );
    }
  }
}

/** A connection's deadline to be open: a class of its own, not a closure (see Entry). */
class ConnectTimeout extends Entry {
  constructor(
    timers: Timers,
    private readonly connection: Connection,
  ) {
    super(timers);
  }

  fire(): void {
    this.connection.fail({ code: "timeout" });
  }
}

/**
 * A plain socket's callbacks, shared by every connection: a closure each would be heap for as long as the connection
 * lives. The socket calls them on itself, and finds its connection in `target` (ECMA-419 stores the option there).
 */
function onReadable(this: TCP): void {
  connectionOf(this).readable();
}

function onWritable(this: TCP, count: number): void {
  connectionOf(this).canWrite(count);
}

function onError(this: TCP): void {
  connectionOf(this).errored();
}

function connectionOf(socket: TCP): Connection {
  return (socket as unknown as { target: Connection }).target;
}

export function connect(options: ConnectOptions, handlers: SocketHandlers, timers: Timers): Socket {
  return new Connection(options, handlers, timers);
}
