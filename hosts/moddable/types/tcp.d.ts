// ECMA-419 TCP socket, as Moddable implements it (modules/io/socket/*/tcp): connects to a dotted IPv4 address
// only, calls onWritable once connected, throws from write() when the bytes exceed the last onWritable count, and
// calls onError without a reason, for a refused or failed connect as for a reset or an orderly close.
declare module "embedded:io/socket/tcp" {
  export type Options = (({ address: string } | { host: string }) & { port: number }) & {
    nodelay?: boolean;
    onReadable?: (this: TCP, bytes: number) => void;
    onWritable?: (this: TCP, bytes: number) => void;
    onError?: (this: TCP) => void;
    format?: "number" | "buffer";
    target?: unknown;
  };

  export default class TCP {
    constructor(options: Options);
    readonly remoteAddress: string | undefined;
    readonly remotePort: number | undefined;
    /** In the default "buffer" format: an ArrayBuffer of the bytes available, or undefined when there are none. */
    read(byteLength?: number): number | ArrayBuffer;
    write(value: number | ArrayBuffer | ArrayBufferView): void;
    close(): void;
    get format(): "number" | "buffer";
    set format(value: "number" | "buffer");
  }
}
