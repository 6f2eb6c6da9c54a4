// TLS for hosts/moddable/socket: in the build only where the application's manifest includes
// hosts/moddable/manifest_tls.json, which brings the SDK's TLS socket, the default CA and this module; the socket
// finds it by name. TLS errors escape from the socket's callbacks as exceptions whose messages do not tell the
// causes apart: the handshake bytes read are kept until it ends, and a failure is named from the certificates in
// them (hosts/moddable/tls-evidence).
import Resource from "Resource";
import TCP, { type Options as TCPOptions } from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import { message } from "hosts/moddable/platform";
import type { OpenTls } from "hosts/moddable/socket";
import { EVIDENCE_MAX, tlsFailure } from "hosts/moddable/tls-evidence";
import type { TlsOptions } from "tether/host";

/** The CA certificate trusted when the firmware names none: ISRG Root X1 (Let's Encrypt), in hosts/moddable/certs. */
const DEFAULT_CA = "isrg-root-x1";

type Callback = ((count: number) => void) | undefined;

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

/**
 * A TLS socket over TCP to `base.address`, verified against the CA resource `tls` names (or the default one); its
 * failures go to `owner.fail`, named from the handshake's evidence. See OpenTls in hosts/moddable/socket.
 */
export const openTls: OpenTls = (base, host, tls, owner) => {
  const verify = tls.verify !== false;
  const ca = caResource(tls);
  if (verify && !Resource.exists(ca)) {
    owner.fail({ code: "tls", detail: `no CA resource ${ca}` });
    return undefined;
  }
  const serverName = tls.serverName ?? host;
  const certificate = verify ? new Resource(ca) : undefined;
  const evidence = new Evidence();
  const failTls = (error: unknown) => {
    if (owner.connected) owner.fail({ code: "reset", detail: message(error) });
    else {
      const trusted = certificate?.slice(0);
      const bytes = evidence.bytes?.subarray(0, evidence.length) ?? new Uint8Array(0);
      owner.fail({ code: "tls", detail: tlsFailure(message(error), bytes, serverName, trusted, Date.now()) });
    }
  };
  const stream = new TLSSocket({
    ...base,
    host: serverName,
    secure: { serverName, verify, certificate },
    TCP: {
      io: guardedTCP(
        failTls,
        () => {
          owner.tcpOpen = true;
        },
        evidence,
      ),
    },
  });
  return { stream, evidence };
};
