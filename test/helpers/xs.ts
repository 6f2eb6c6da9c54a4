// Runs a TypeScript entry inside the real XS engine (an xsnap-worker), so a test can check that firmware code
// behaves the same there as in Node. The entry's default export takes one JSON value and returns one:
//
//   // test/mqtt/fixtures/codec-xs.ts
//   import { encode } from "tether/mqtt/codec";
//   export default function (input: { packet: Packet }) { return hexOf(encode(input.packet)); }
//
//   const xs = await startXs("test/mqtt/fixtures/codec-xs.ts");
//   expect(await xs.call({ packet })).toEqual(expectedHex);
//   await xs.close();
//
// Values cross as JSON, so bytes travel as hex strings or arrays of numbers. An exception in the entry rejects
// call() with an XsError carrying XS's message; the engine keeps running.

import { bundleForXs } from "../../hosts/sim/node/bundle";
import { type Meter, Xsnap } from "../../hosts/sim/node/xsnap";

export { XsError } from "../../hosts/sim/node/xsnap";

const ENTRY_GLOBAL = "__tetherXsEntry";

// Evaluated with the bundle, in the same script (its exports are in a script-level variable): decodes the command as
// JSON, calls the entry, encodes its result as JSON.
const GLUE = `;(() => {
  const entry = ${ENTRY_GLOBAL}.default;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  globalThis.handleCommand = (buffer) => {
    const output = JSON.stringify(entry(JSON.parse(decoder.decode(new Uint8Array(buffer)))));
    const bytes = encoder.encode(output === undefined ? "null" : output);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  };
})();`;

export interface XsEntry {
  /** Calls the entry's default export with `input` and resolves with what it returned. */
  call<T = unknown>(input: unknown): Promise<T>;
  /** Everything the engine printed (xsnap's print(), its diagnostics). */
  readonly output: string;
  /** xsnap's figures after the last call. */
  readonly meter: Meter | undefined;
  close(): Promise<void>;
}

/**
 * Bundles `entry` (relative to the repository root; `tether/*` imports work, and the specifiers of `alias` from the
 * files it names) and loads it into a fresh engine.
 */
export async function startXs(entry: string, alias?: Record<string, string>): Promise<XsEntry> {
  const code = await bundleForXs(entry, { globalName: ENTRY_GLOBAL, alias });
  let output = "";
  const worker = new Xsnap({ name: "tether-test", onOutput: (text) => (output += text) });
  try {
    await worker.evaluate(code + GLUE);
  } catch (error) {
    worker.kill();
    throw error;
  }
  return {
    async call<T>(input: unknown): Promise<T> {
      const reply = await worker.command(Buffer.from(JSON.stringify(input), "utf8"));
      return JSON.parse(Buffer.from(reply).toString("utf8")) as T;
    },
    get output() {
      return output;
    },
    get meter() {
      return worker.meter;
    },
    async close() {
      worker.close();
      await worker.exited;
    },
  };
}
