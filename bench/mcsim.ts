// Tether's drop-in beside Moddable's own mqtt module on Moddable's simulator (mcsim), when an SDK is built: one
// application (bench/mcsim/app.js) built twice, instrumented release builds, runs alternated A/B (the order swapped
// every repetition) after a warm-up run of each. Per run: the XS heap after a forced GC once connected and
// subscribed; CPU per QoS 0 message published and received, as the simulator's main thread's CPU time
// (/proc/<pid>/schedstat, ns) over the phase, less the same thread's idle rate measured in an idle window just
// before that phase. On lin the SDK's TCP moves at most 1,536 B per 20 ms, so rates there measure that transport:
// CPU per message is the comparison that means something. Flash: the .xsb modules each build has that the other
// does not (what its MQTT part adds to the same application), and the whole build's mc.xs.c.o. Then Tether's whole
// firmware (bench/mcsim/firmware) at its shipped settings, once per repetition: its heap after GC once connected and
// subscribed, and its flash.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { peer } from "../test/helpers/peer";
import { type Build, build, Mcsim } from "../tools/rigs/moddable";
import type { Mosquitto } from "../tools/rigs/mosquitto";
import { type Row, stat } from "./stats";

const SUBJECTS = [
  ["Tether (tether-mqtt)", "bench/mcsim/tether", "tether"],
  ["Moddable mqtt", "bench/mcsim/moddable", "moddable"],
] as const;
const COUNT = 5000;
const SIZE = 64;
const IDLE_MS = 2000;
/** The full firmware's heap goal on mcsim (issues 12 and 22). */
const FIRMWARE_GOAL = 32 * 1024;
/** The firmware's client id here: the broker's session for it is removed before every run (see firmwareHeap). */
const FIRMWARE_ID = "bench-firmware";
/** What the drop-in's manifest_websocket.json adds, for the drop-in's flash with MQTT over WebSocket. */
const WEBSOCKET_MODULES = ["tether/client/websocket.xsb", "tether/client/sha1.xsb"];

interface Sample {
  heap: number;
  publishUs: number;
  receiveUs: number;
}

/** The main thread's CPU time in ns, of the mcsim process in the process group `group`. */
function cpuNs(group: number): number {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    if (comm === "mcsim" && Number(fields[2]) === group) {
      return Number(readFileSync(`/proc/${name}/schedstat`, "utf8").split(" ")[0]);
    }
  }
  throw new Error("mcsim is not running");
}

/** The main thread's CPU rate at rest (ns per ms of wall time), over IDLE_MS. */
async function idleRate(group: number): Promise<number> {
  const cpu = cpuNs(group);
  const at = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  return (cpuNs(group) - cpu) / (performance.now() - at);
}

async function oneRun(library: string, broker: Mosquitto, id: string): Promise<Sample> {
  const sim = Mcsim.start(library);
  try {
    // The application waits 2.5 s after its heap line before it publishes: the publish phase's idle window.
    const [, heap] = await sim.waitFor(/heap (\d+)\n/, 30000);
    const group = sim.group;
    const publishIdle = await idleRate(group);
    let cpu = cpuNs(group);
    let at = performance.now();
    await sim.waitFor(new RegExp(`published ${COUNT}\\n`), 120000);
    const publishNs = cpuNs(group) - cpu;
    const publishMs = performance.now() - at;

    const sender = await peer(broker.url, `${id}-sender`);
    // The receive phase's own idle window: the sender's connect is done, nothing is in flight.
    const receiveIdle = await idleRate(group);
    const from = sim.output.length;
    cpu = cpuNs(group);
    at = performance.now();
    const payload = Buffer.alloc(SIZE, 98);
    for (let i = 0; i < COUNT; i++) sender.client.publish(`bench/${id}/in`, payload, { qos: 0 });
    await sim.waitFor(new RegExp(`received ${COUNT}\\n`), 120000, from);
    const receiveNs = cpuNs(group) - cpu;
    const receiveMs = performance.now() - at;
    await sender.client.endAsync(true);
    return {
      heap: Number(heap),
      publishUs: (publishNs - publishIdle * publishMs) / COUNT / 1000,
      receiveUs: (receiveNs - receiveIdle * receiveMs) / COUNT / 1000,
    };
  } finally {
    await sim.kill();
  }
}

/**
 * Tether's whole firmware (bench/mcsim/firmware) at its shipped settings: the XS heap after GC once connected and
 * subscribed. It keeps a persistent session (cleanSession 0), so the broker's session for its id is removed first
 * (a clean connect of that id): every run then subscribes, as a device's first boot does. Its power-on spread
 * (backoffSpread) delays the first connect by up to 15 s.
 */
async function firmwareHeap(library: string, broker: Mosquitto): Promise<number> {
  const clear = await peer(broker.url, FIRMWARE_ID, { clean: true });
  await clear.client.endAsync();
  const sim = Mcsim.start(library);
  try {
    const subscribed = await sim.waitFor(/ I mqtt subscribed [^\n]*\n/, 60000);
    const [, heap] = await sim.waitFor(/heap (\d+)\n/, 5000, subscribed.index! + subscribed[0].length);
    return Number(heap);
  } finally {
    await sim.kill();
  }
}

interface Flash {
  /** Each .xsb module of the build and its size, by path under modules/. */
  modules: Map<string, number>;
  /** text + data of mc.xs.c.o, the whole build's XS part (preloaded heap, code, strings), or undefined. */
  object: number | undefined;
}

function flashOf(b: Build): Flash {
  const root = join(b.tmp, "modules");
  const modules = new Map<string, number>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".xsb")) modules.set(relative(root, path), statSync(path).size);
    }
  };
  walk(root);
  const sizes = spawnSync("size", [join(b.tmp, "mc.xs.c.o")], { encoding: "utf8" });
  const [text, data] = (sizes.stdout?.split("\n")[1] ?? "").trim().split(/\s+/).map(Number);
  return { modules, object: sizes.status === 0 && text >= 0 ? text + data : undefined };
}

/** The modules of `a` that `b` does not have, and their bytes. */
function added(a: Flash, b: Flash): { names: string[]; bytes: number } {
  const names = [...a.modules.keys()].filter((name) => !b.modules.has(name)).sort();
  return { names, bytes: names.reduce((sum, name) => sum + a.modules.get(name)!, 0) };
}

export async function mcsimBench(broker: Mosquitto, reps: number, log: (line: string) => void): Promise<Row[]> {
  const builds: Build[] = [];
  let firmware: Build | undefined;
  try {
    log("  building Tether's firmware (its shipped settings: only the broker and the client id given)");
    firmware = build("bench/mcsim/firmware", {
      platform: "lin",
      instrument: true,
      config: { broker: broker.url, clientId: FIRMWARE_ID },
    });
    const firmwareHeaps: number[] = [];
    for (const [subject, dir, id] of SUBJECTS) {
      log(`  building ${subject}`);
      builds.push(
        build(dir, {
          platform: "lin",
          instrument: true,
          config: { port: String(broker.port), id, count: String(COUNT), size: String(SIZE) },
        }),
      );
    }
    const samples: Sample[][] = SUBJECTS.map(() => []);
    // A warm-up run of each, then A/B, the order swapped every repetition.
    for (let rep = -1; rep < reps; rep++) {
      const order = rep % 2 === 0 ? [1, 0] : [0, 1];
      for (const s of order) {
        const sample = await oneRun(builds[s].library!, broker, SUBJECTS[s][2]);
        if (rep >= 0) samples[s].push(sample);
        log(
          `  ${SUBJECTS[s][0]} ${rep < 0 ? "warm-up" : `run ${rep + 1}`}: heap ${sample.heap} B, publish ${sample.publishUs.toFixed(1)} us, receive ${sample.receiveUs.toFixed(1)} us`,
        );
      }
      if (rep >= 0) {
        firmwareHeaps.push(await firmwareHeap(firmware.library!, broker));
        log(`  Tether's firmware run ${rep + 1}: heap ${firmwareHeaps[rep]} B`);
      }
    }
    const [tetherFlash, moddableFlash] = builds.map(flashOf);
    const firmwareFlash = flashOf(firmware);
    const tetherAdds = added(tetherFlash, moddableFlash);
    const moddableAdds = added(moddableFlash, tetherFlash);
    const websocket = WEBSOCKET_MODULES.reduce((sum, name) => sum + (firmwareFlash.modules.get(name) ?? 0), 0);
    const firmwareAdds = added(firmwareFlash, moddableFlash);
    log(`  Tether's drop-in adds ${tetherAdds.bytes} B of .xsb: ${tetherAdds.names.join(" ")}`);
    log(`  Moddable's mqtt adds ${moddableAdds.bytes} B of .xsb: ${moddableAdds.names.join(" ")}`);
    log(`  Tether's firmware adds ${firmwareAdds.bytes} B of .xsb: ${firmwareAdds.names.join(" ")}`);

    const row = (
      name: string,
      unit: string,
      pick: (s: Sample) => number,
      factor: number,
      goalText: string,
      note: string,
    ): Row => {
      const values = SUBJECTS.map(
        ([subject], s) => [subject, stat(samples[s].map(pick))] as [string, ReturnType<typeof stat>],
      );
      const ratio = values[0][1].median / values[1][1].median;
      return {
        section: "mcsim",
        name,
        unit,
        higherIsBetter: false,
        values,
        goal: { text: `${goalText} (now ${ratio.toFixed(2)}x)`, met: ratio <= factor },
        note,
      };
    };
    const fixed = (
      name: string,
      values: [string, number][],
      goal: { text: string; met: boolean } | undefined,
      note: string,
    ): Row => ({
      section: "mcsim",
      name,
      unit: "B",
      higherIsBetter: false,
      values: values.map(([subject, value]) => [subject, stat([value])]),
      goal,
      note,
    });
    const flashRatio = (tetherAdds.bytes + websocket) / moddableAdds.bytes;
    const rows: Row[] = [
      row(
        "XS heap after GC, connected and subscribed",
        "B",
        (s) => s.heap,
        2,
        "drop-in heap <= 2x Moddable's",
        "the same application on each, instrumented release build for lin, 64-bit: slots are 32 B here (16 B on an ESP32); Tether: the drop-in alone (hosts/moddable/manifest.json, plain mqtt://, no storage, no TLS, no WebSocket), with reconnect and its backoff, the QoS 1/2 session and offline queue, MQTT 5 and the failure codes onClose names (the logger is made with its first line: none at warn while all is well; the diagnoser is manifest_diagnose.json's, not in it); Moddable: its mqtt module",
      ),
      row(
        `CPU per QoS 0 publish (${SIZE} B)`,
        "us",
        (s) => s.publishUs,
        1.5,
        "<= 1.5x Moddable's",
        "simulator main thread, less its idle rate in a window of its own just before the phase; noisy on a shared machine",
      ),
      row(
        `CPU per QoS 0 message received (${SIZE} B)`,
        "us",
        (s) => s.receiveUs,
        1,
        "<= 1x Moddable's",
        "simulator main thread, less its idle rate in a window of its own just before the phase; noisy on a shared machine",
      ),
      fixed(
        "flash: .xsb modules the MQTT part adds to the application",
        [
          ["Tether (tether-mqtt)", tetherAdds.bytes],
          ["Moddable mqtt", moddableAdds.bytes],
          ["Tether (drop-in with WebSocket)", tetherAdds.bytes + websocket],
        ],
        {
          text: `drop-in with WebSocket <= 3x Moddable's mqtt, which always has it (now ${flashRatio.toFixed(2)}x; plain mqtt:// ${(tetherAdds.bytes / moddableAdds.bytes).toFixed(2)}x)`,
          met: flashRatio <= 3,
        },
        `the modules one build has and the other does not, release .xsb; Tether: ${tetherAdds.names.join(", ")}; with WebSocket, plus ${WEBSOCKET_MODULES.join(", ")} (manifest_websocket.json); Moddable: ${moddableAdds.names.join(", ")}`,
      ),
    ];
    const objects: [string, number][] = [];
    if (tetherFlash.object !== undefined) objects.push(["Tether (tether-mqtt)", tetherFlash.object]);
    if (moddableFlash.object !== undefined) objects.push(["Moddable mqtt", moddableFlash.object]);
    if (firmwareFlash.object !== undefined) objects.push(["Tether (firmware)", firmwareFlash.object]);
    if (objects.length) {
      rows.push(
        fixed(
          "flash: mc.xs.c.o, the whole application's XS part",
          objects,
          undefined,
          "text + data of the linked XS image (preloaded modules' code, strings and heap), whole application with the SDK's modules, lin 64-bit",
        ),
      );
    }
    rows.push(
      {
        section: "mcsim",
        name: "Tether's firmware: XS heap after GC, connected and subscribed",
        unit: "B",
        higherIsBetter: false,
        values: [["Tether (firmware)", stat(firmwareHeaps)]],
        goal: { text: `<= ${FIRMWARE_GOAL / 1024} KB`, met: stat(firmwareHeaps).median <= FIRMWARE_GOAL },
        note: "the whole firmware (drop-in, storage, TLS, WebSocket, diagnostics, console, history, self-test, beacon, command topic, keep-alive tuner) at its shipped settings (persistent session, power-on spread), code preloaded; its bench module's one timer included",
      },
      fixed(
        "Tether's firmware: flash, .xsb modules it adds beside Moddable's mqtt application",
        [["Tether (firmware)", firmwareAdds.bytes]],
        undefined,
        `release .xsb of the modules the firmware build has and the Moddable mqtt one does not: ${firmwareAdds.names.length} modules`,
      ),
    );
    return rows;
  } finally {
    for (const b of builds) b.remove();
    firmware?.remove();
  }
}
