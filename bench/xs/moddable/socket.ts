// The SDK's `socket` module (its callback Socket), as much of it as Moddable's `mqtt` module uses: it counts what is
// written and reads what the meter gives it (loop.ts). As ManualHost's socket, it does as little as it can.
import { type FakeSocket, loop } from "./loop";

export class Socket implements FakeSocket {
  callback?: (message: number, value?: number) => void;
  written = 0;
  pending: ArrayBuffer | undefined;

  constructor(_dictionary: { host: string; port: number }) {
    loop.socket = this;
  }

  read(_type: ArrayBufferConstructor): ArrayBuffer | undefined {
    const bytes = this.pending;
    this.pending = undefined;
    return bytes;
  }

  write(buffer: ArrayBuffer): void {
    this.written += buffer.byteLength;
  }

  close(): void {}
}
