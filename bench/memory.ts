// Footprint in XS: the bytecode of Tether's own modules as the XS compiler emits it, and the heap the real firmware
// uses in the simulator (xsnap) once connected with 4 subscriptions, per in-flight QoS 1 message, and with a burst of
// 4 KB publishes in flight.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { transformSync } from "esbuild";
import { SimDevice } from "../hosts/sim/node/device";
import type { Xsnap } from "../hosts/sim/node/xsnap";
import { FaultProxy } from "../tools/rigs/fault-proxy";
import type { Mosquitto } from "../tools/rigs/mosquitto";
import type { Row } from "./stats";
import { stat } from "./stats";

const CACHE = "bench/.cache";
const XS = "node_modules/@agoric/xsnap/moddable/xs";
const SIZE_TOOL = join(CACHE, "xs-size");
/** XS slots are 16 bytes on the ESP32 (32-bit), 32 on this 64-bit desktop. */
const SLOT_ESP32 = 16;
const SLOT_HERE = 32;
const BYTECODE_GOAL = 24 * 1024;
const HEAP_GOAL = 16 * 1024;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Builds bench/xs-size.c against the XS compiler sources shipped in @agoric/xsnap (once; kept in bench/.cache). */
function sizeTool(): string {
  if (existsSync(SIZE_TOOL)) return SIZE_TOOL;
  mkdirSync(CACHE, { recursive: true });
  const sources = [
    "xsBigInt",
    "xsCode",
    "xsCommon",
    "xsdtoa",
    "xsLexical",
    "xsre",
    "xsScope",
    "xsScript",
    "xsSourceMap",
    "xsSyntaxical",
    "xsTree",
  ].map((name) => `${XS}/sources/${name}.c`);
  execFileSync("gcc", [
    "-O1",
    "-w",
    `-I${XS}/includes`,
    `-I${XS}/platforms`,
    `-I${XS}/sources`,
    "-DmxCompile=1",
    "-DmxParse=1",
    "-o",
    SIZE_TOOL,
    "bench/xs-size.c",
    ...sources,
    "-lm",
  ]);
  return SIZE_TOOL;
}

export interface ModuleSize {
  module: string;
  code: number;
  symbols: number;
}

/**
 * Each module of modules/ transpiled on its own (types stripped, ES2022 kept, as mcconfig's TypeScript step does)
 * and compiled by XS's own compiler as a strict module without debug information, as in a release build.
 */
export function moduleSizes(): ModuleSize[] {
  const out = join(CACHE, "js");
  rmSync(out, { recursive: true, force: true });
  const files = tsFiles("modules").map((ts) => {
    const js = join(out, relative("modules", ts)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(js), { recursive: true });
    writeFileSync(js, transformSync(readFileSync(ts, "utf8"), { loader: "ts", format: "esm", target: "es2022" }).code);
    return js;
  });
  const lines = execFileSync(sizeTool(), files, { encoding: "utf8" }).trim().split("\n");
  return lines.map((line) => {
    const [file, code, symbols] = line.split("\t");
    return { module: relative(out, file).replace(/\.js$/, ""), code: Number(code), symbols: Number(symbols) };
  });
}

export function sizeRows(sizes: ModuleSize[]): Row[] {
  // A folder of modules/, or a file at its top.
  const group = (s: ModuleSize) => (s.module.includes("/") ? `${s.module.split("/")[0]}/` : `${s.module}.js`);
  const one = (n: number) => stat([n]);
  const groups = [...new Set(sizes.map(group))];
  const rows: Row[] = groups.flatMap((name): Row[] => {
    const code = sizes.filter((s) => group(s) === name).reduce((sum, s) => sum + s.code, 0);
    if (code === 0) return [];
    return [
      {
        section: "Footprint (XS)",
        name: `bytecode, modules/${name}`,
        unit: "bytes",
        higherIsBetter: false,
        values: [["Tether", one(code)]],
      },
    ];
  });
  const total = sizes.reduce((sum, s) => sum + s.code, 0);
  const symbols = sizes.reduce((sum, s) => sum + s.symbols, 0);
  rows.push({
    section: "Footprint (XS)",
    name: "bytecode, all of modules/",
    unit: "bytes",
    higherIsBetter: false,
    values: [["Tether", one(total)]],
    goal: { text: "under 24 KB", met: total < BYTECODE_GOAL },
    note: `XS compiler, release (no debug info); symbol tables add ${symbols} bytes more before linking`,
  });
  return rows;
}

interface Footprint {
  slots: number;
  snapshot: number;
}

/**
 * Live slots and snapshot bytes, both after a full garbage collection (xsnap collects before writing a snapshot).
 * SimDevice and Xsnap do not offer snapshots, so this reaches their private worker and command queue.
 */
async function footprint(device: SimDevice): Promise<Footprint> {
  const worker = (device as unknown as { worker: Xsnap }).worker;
  const queue = worker as unknown as { enqueue(message: Uint8Array): Promise<Uint8Array> };
  const path = join(CACHE, "heap.xss");
  const reply = await queue.enqueue(Buffer.from(`w${path}`));
  rmSync(path, { force: true });
  return { slots: worker.meter!.currentHeapCount, snapshot: Number(Buffer.from(reply).toString("latin1")) };
}

/** The heap of `after` beyond `before` on an ESP32: slots at 16 bytes, plus chunks (strings, buffers) and keys. */
function esp32Bytes(before: Footprint, after: Footprint): number {
  const slots = after.slots - before.slots;
  const rest = after.snapshot - before.snapshot - slots * SLOT_HERE;
  return slots * SLOT_ESP32 + rest;
}

/** Waits until `pattern` has matched `count` more times in the device's serial output. */
async function serialCount(device: SimDevice, pattern: RegExp, count: number, from: number): Promise<void> {
  let at = from;
  for (let i = 0; i < count; i++) {
    const match = await device.waitForSerial(pattern, 10000, at);
    at += match.index + match[0].length;
  }
}

export async function heapRows(broker: Mosquitto, reps: number, log: (line: string) => void): Promise<Row[]> {
  const connected: number[] = [];
  const perMessage: number[] = [];
  const burst: number[] = [];
  const proxy = await FaultProxy.start({ host: "127.0.0.1", port: broker.port });
  try {
    for (let rep = 0; rep < reps; rep++) {
      const device = await SimDevice.start({
        entry: "bench/xs/firmware.ts",
        config: {
          broker: `mqtt://127.0.0.1:${proxy.port}`,
          clientId: `mem-${process.pid}-${rep}`,
          beaconInterval: "0",
          // Room for every message of the run in flight: what waits behind the window is another measure.
          maxInflight: "64",
          // One device: no fleet to spread its first connection over.
          backoffSpread: "0",
        },
      });
      try {
        const base = await footprint(device);
        let from = device.serialOutput.length;
        device.typeLine("!start");
        await serialCount(device, /subscribed/, 1, from);
        from = device.serialOutput.length;
        for (const topic of ["bench/a", "bench/b/+", "bench/c/#"]) device.typeLine(`sub ${topic} 1`);
        await serialCount(device, /subscribed/, 3, from);
        const up = await footprint(device);
        connected.push(esp32Bytes(base, up));
        if (rep === 0)
          log(`  connected: ${up.slots - base.slots} slots, ${up.snapshot - base.snapshot} snapshot bytes`);

        // Nothing gets through any more, so what is published stays in flight.
        proxy.blackhole(true);
        from = device.serialOutput.length;
        const small = 32;
        device.typeLine(`!pub ${small} 16 bench/m`);
        await serialCount(device, /pub sent/, small, from);
        const flying = await footprint(device);
        perMessage.push(esp32Bytes(up, flying) / small);

        from = device.serialOutput.length;
        const big = 16;
        device.typeLine(`!pub ${big} 4096 bench/big`);
        await serialCount(device, /pub sent/, big, from);
        burst.push(esp32Bytes(base, await footprint(device)));
      } finally {
        proxy.blackhole(false);
        await device.kill();
      }
    }
  } finally {
    await proxy.close();
  }
  const section = "Footprint (XS)";
  // The runs do the same things in the same order, so the heap is the same in each: the repetitions show that
  // (min = max) rather than average out noise, and there is nothing to alternate.
  const heapRow = (name: string, samples: number[], what: string): Row => {
    const s = stat(samples);
    const runs = s.min === s.max ? `the same in all ${samples.length} runs` : `varied over ${samples.length} runs`;
    return { section, name, unit: "bytes", higherIsBetter: false, values: [["Tether", s]], note: `${what}; ${runs}` };
  };
  const rows: Row[] = [
    heapRow(
      "heap, firmware connected with 4 subscriptions",
      connected,
      "live after a full GC, beyond a baseline taken with all code loaded: module code, functions and module-level " +
        "objects are not counted (flash when preloaded, RAM otherwise); XS slots at the ESP32's 16 B",
    ),
    heapRow(
      "heap per in-flight QoS 1 message (16 B payload)",
      perMessage,
      "growth over the row above with 32 messages held unacknowledged (published from the console), divided by 32",
    ),
    heapRow(
      "heap with a burst of 16 x 4 KB QoS 1 publishes in flight",
      burst,
      "live after a full GC with all 16 unacknowledged, beyond the same baseline: the connected heap, the 32 above " +
        "and 64 KB of payloads",
    ),
  ];
  rows[0].goal = { text: "under 16 KB", met: rows[0].values[0][1].median < HEAP_GOAL };
  log(
    `  heap: connected ${Math.round(rows[0].values[0][1].median)} B, per message ${Math.round(rows[1].values[0][1].median)} B`,
  );
  return rows;
}
