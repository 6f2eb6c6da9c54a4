// The TLS socket Moddable ships as examples/io/tcp/tlssocket: the same interface as TCP, layered on a TCP socket
// it creates from options.TCP.io with every option it was given (its own callbacks replacing the caller's). The SDK's
// typings do not reach this module (their manifest maps embedded:io/socket/* one folder deep), so the build maps this
// file (see manifest.json).
declare module "embedded:io/socket/tcp/tls" {
  import type Resource from "Resource";
  import type TCP from "embedded:io/socket/tcp";
  import type { Options as TCPOptions } from "embedded:io/socket/tcp";

  /** Passed to ssl/session; names as Moddable's TLS stack reads them. */
  export interface SecureOptions {
    /** Sent in the SNI extension (defaults to `host`). Moddable does not check it against the certificate. */
    serverName?: string;
    /** Verify the server's certificate chain and dates (default true). */
    verify?: boolean;
    /** One extra trusted certificate, DER, besides the ca.ski store in the build. */
    certificate?: ArrayBuffer | Resource;
    protocolVersion?: number;
    applicationLayerProtocolNegotiation?: string | string[];
  }

  export type Options = TCPOptions & {
    host: string;
    secure: SecureOptions;
    TCP: { io: new (options: TCPOptions) => TCP };
  };

  export default class TLSSocket {
    constructor(options: Options);
    /** One decrypted record at a time; undefined when none is pending. */
    read(byteLength?: number): ArrayBuffer | undefined;
    /** Returns how many more bytes may be written before the next onWritable. */
    write(buffer: ArrayBuffer | Uint8Array): number;
    close(): void;
    get format(): "number" | "buffer";
    set format(value: "number" | "buffer");
  }
}
