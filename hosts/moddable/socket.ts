// Host.connect and Host.resolve on ECMA-419 sockets. Moddable's sockets take a dotted address, so names are
// resolved first with Net.resolve. What the platform cannot tell apart (docs/moddable.md has the table):
// - onError carries no reason: before the connection is up it is reported as `refused` (lwIP gives up on an
//   unanswered SYN later than any sensible timeout, which then fires first as `timeout`); after, as `closed`,
//   whether the peer sent FIN or RST.
// - TLS errors escape from the socket's callbacks as exceptions whose messages do not tell the causes apart; the
//   handshake bytes read are kept until it ends, and a failure is named from the certificates in them
//   (hosts/moddable/tls-evidence).
import Resource from "Resource";
import TCP, { type Options as TCPOptions } from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import type { Timers } from "hosts/moddable/timers";
import { EVIDENCE_MAX, tlsFailure } from "hosts/moddable/tls-evidence";
// biome-ignore lint/style/useNodejsImportProtocol: Moddable's net module, not Node's
import Net from "net";
import type { ConnectOptions, NetError, Socket, SocketHandlers, TlsOptions } from "tether/host";

/** The CA certificate trusted when the firmware names none: ISRG Root X1 (Let's Encrypt), in hosts/moddable/certs. */
const DEFAULT_CA = "isrg-root-x1";
const QUEUE_INITIAL = 1024;
/** Where `localhost` is: the SDK's resolver keeps only an IPv4 first answer, and the system's first is often ::1. */
const LOOPBACK = "127.0.0.1";

type Resolved = (address: string | undefined, error?: NetError) => void;
type Callback = ((count: number) => void) | undefined;

/** What TCP and TLSSocket have in common, as this module uses them. */
interface Stream {
  read(): unknown;
  write(bytes: Uint8Array): unknown;
  close(): void;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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

function caResource(tls: TlsOptions): string {
  const name = tls.ca?.[0] ?? DEFAULT_CA;
  return name.endsWith(".der") ? name : `${name}.der`;
}

/** The bytes of a TLS handshake as read from the server, kept until it ends: the evidence of a failure. */
class Evidence {
  bytes: Uint8Array | undefined = new Uint8Array(EVIDENCE_MAX);
  length = 0;

  keep(read: Uint8Array): void {
    const bytes = this.bytes;
    if (!bytes) return;
    const n = Math.min(read.length, bytes.length - this.length);
    bytes.set(read.subarray(0, n), this.length);
    this.length += n;
  }

  /** The handshake succeeded: nothing more to keep. */
  drop(): void {
    this.bytes = undefined;
  }
}

/**
 * The TCP socket under a TLS socket. The TLS socket runs its handshake inside the TCP callbacks and lets its
 * errors escape from them, where they would abort XS: this subclass catches them for `fail`, and keeps what it
 * reads in `evidence`.
 */
function guardedTCP(
  fail: (error: unknown) => void,
  opened: () => void,
  evidence: Evidence,
): new (
  options: TCPOptions,
) => TCP {
  const guard = (callback: Callback, count: number) => {
    try {
      callback?.(count);
    } catch (error) {
      fail(error);
    }
  };
  const Guarded = class extends TCP {
    constructor(options: TCPOptions) {
      const readable = options.onReadable as Callback;
      const writable = options.onWritable as Callback;
      super({
        ...options,
        onReadable: (count: number) => guard(readable, count),
        onWritable: (count: number) => {
          opened();
          guard(writable, count);
        },
      });
    }
  };
  // read() copies what it read into the evidence, in either of its forms (into a buffer, or a new one returned).
  // Defined, not assigned: TCP's prototype is preloaded, so frozen, and assigning an inherited read-only property
  // throws ("set read: not writable").
  const read = TCP.prototype.read as (this: TCP, ...args: unknown[]) => unknown;
  Object.defineProperty(Guarded.prototype, "read", {
    value(this: TCP, ...args: unknown[]) {
      const result = read.apply(this, args);
      if (evidence.bytes) {
        const into = args[0];
        if (into instanceof Uint8Array) evidence.keep(into);
        else if (result instanceof ArrayBuffer) evidence.keep(new Uint8Array(result));
      }
      return result;
    },
  });
  return Guarded;
}

export function connect(options: ConnectOptions, handlers: SocketHandlers, timers: Timers): Socket {
  let stream: Stream | undefined;
  let dead = false;
  let connected = false;
  let tcpOpen = false;
  let blocked = false;
  let writable = 0;
  let queue = new Uint8Array(QUEUE_INITIAL);
  let head = 0;
  let tail = 0;
  let evidence: Evidence | undefined;
  const timeout = timers.timer(() => fail({ code: "timeout" }));
  timeout.schedule(options.timeout);

  function stopTimeout(): void {
    timeout.cancel();
  }

  function close(): void {
    if (dead) return;
    dead = true;
    stopTimeout();
    stream?.close();
    stream = undefined;
  }

  function fail(error: NetError): void {
    if (dead) return;
    close();
    handlers.onError(error);
  }

  function onError(): void {
    if (connected) fail({ code: "closed", detail: "fin_or_rst" });
    else if (tcpOpen) fail({ code: "tls", detail: "handshake" });
    else fail({ code: "refused" });
  }

  function onReadable(): void {
    const data = stream?.read();
    if (data instanceof ArrayBuffer) handlers.onData(new Uint8Array(data));
  }

  function onWritable(count: number): void {
    if (dead) return;
    writable = count;
    if (!connected) {
      connected = true;
      evidence?.drop();
      stopTimeout();
      handlers.onConnect();
    }
    flush();
  }

  function send(bytes: Uint8Array): void {
    // TLSSocket.write answers how much more it takes; TCP.write answers nothing.
    const left: unknown = stream?.write(bytes);
    writable = typeof left === "number" ? left : writable - bytes.length;
  }

  function flush(): void {
    try {
      while (!dead && head < tail && writable > 0) {
        const n = Math.min(tail - head, writable);
        send(queue.subarray(head, head + n));
        head += n;
      }
    } catch (error) {
      // Only ever called once connected (from onWritable): a write that fails now is a lost connection.
      fail({ code: "reset", detail: message(error) });
      return;
    }
    if (head < tail || dead) return;
    head = tail = 0;
    if (blocked) {
      blocked = false;
      handlers.onWritable();
    }
  }

  function enqueue(bytes: Uint8Array): void {
    const pending = tail - head;
    if (tail + bytes.length > queue.length) {
      const larger = pending + bytes.length > queue.length;
      const target = larger ? new Uint8Array(Math.max(queue.length * 2, pending + bytes.length)) : queue;
      target.set(queue.subarray(head, tail));
      queue = target;
      head = 0;
      tail = pending;
    }
    queue.set(bytes, tail);
    tail += bytes.length;
  }

  function open(address: string): void {
    const base = { address, port: options.port, nodelay: true, onReadable, onWritable, onError };
    const tls = options.tls;
    try {
      if (!tls) {
        stream = new TCP(base);
        return;
      }
      const verify = tls.verify !== false;
      const ca = caResource(tls);
      if (verify && !Resource.exists(ca)) {
        fail({ code: "tls", detail: `no CA resource ${ca}` });
        return;
      }
      const serverName = tls.serverName ?? options.host;
      const certificate = verify ? new Resource(ca) : undefined;
      const kept = new Evidence();
      evidence = kept;
      const failTls = (error: unknown) => {
        if (connected) fail({ code: "reset", detail: message(error) });
        else {
          const trusted = certificate?.slice(0);
          const bytes = kept.bytes?.subarray(0, kept.length) ?? new Uint8Array(0);
          fail({ code: "tls", detail: tlsFailure(message(error), bytes, serverName, trusted, Date.now()) });
        }
      };
      stream = new TLSSocket({
        ...base,
        host: serverName,
        secure: { serverName, verify, certificate },
        TCP: {
          io: guardedTCP(
            failTls,
            () => {
              tcpOpen = true;
            },
            kept,
          ),
        },
      });
    } catch (error) {
      // The TLS socket checks the trusted CA itself when made: out of its dates (or the clock not set yet).
      const text = message(error);
      fail(
        options.tls && text.includes("date")
          ? { code: "tls", detail: "ca_expired" }
          : { code: "unreachable", detail: text },
      );
    }
  }

  resolve(
    options.host,
    (address, error) => {
      if (dead) return;
      if (!address) fail(error ?? { code: "dns" });
      else {
        handlers.onResolved?.(address);
        if (!dead) open(address);
      }
    },
    timers,
  );

  return {
    write(bytes: Uint8Array): boolean {
      if (dead) return false;
      let sent = 0;
      if (connected && head === tail && writable > 0) {
        sent = Math.min(bytes.length, writable);
        try {
          send(bytes.subarray(0, sent));
        } catch (error) {
          later(timers, () => fail({ code: "reset", detail: message(error) }));
          return false;
        }
      }
      if (sent < bytes.length) {
        enqueue(sent ? bytes.subarray(sent) : bytes);
        blocked = true;
      }
      return !blocked;
    },
    close,
  };
}
