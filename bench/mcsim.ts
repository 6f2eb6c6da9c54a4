// Tether's drop-in beside Moddable's own mqtt module on Moddable's simulator (mcsim), when an SDK is built: one
// application (bench/mcsim/app.js) built twice, instrumented release builds, runs alternated A/B after a warm-up
// run of each. Per run: the XS heap after a forced GC once connected and subscribed; CPU per QoS 0 message
// published and received, as the simulator's main thread's CPU time (/proc/<pid>/schedstat, ns) over the phase,
// less the same thread's idle rate measured in the same run. On lin the SDK's TCP moves at most 1,536 B per 20 ms,
// so rates there measure that transport: CPU per message is the comparison that means something. Then Tether's
// whole firmware (bench/mcsim/firmware), once per repetition: its heap after GC once connected and subscribed.
import { readdirSync, readFileSync } from "node:fs";
import { peer } from "../test/helpers/peer";
import { type Build, build, Mcsim } from "../tools/rigs/moddable";
import type { Mosquitto } from "../tools/rigs/mosquitto";
import { type Row, stat } from "./stats";

const SUBJECTS = [
  ["Tether (tether-mqtt)", "bench/mcsim/tether"],
  ["Moddable mqtt", "bench/mcsim/moddable"],
] as const;
const COUNT = 5000;
const SIZE = 64;
const IDLE_MS = 2000;
/** The full firmware's heap goal on mcsim (issue 12). */
const FIRMWARE_GOAL = 32 * 1024;

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

async function oneRun(library: string, broker: Mosquitto, id: string): Promise<Sample> {
  const sim = Mcsim.start(library);
  try {
    const [, heap] = await sim.waitFor(/heap (\d+)\n/, 30000);
    const group = sim.group;
    let cpu = cpuNs(group);
    let at = performance.now();
    await sim.waitFor(new RegExp(`published ${COUNT}\\n`), 120000);
    const publishNs = cpuNs(group) - cpu;
    const publishMs = performance.now() - at;

    cpu = cpuNs(group);
    at = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const idleRate = (cpuNs(group) - cpu) / (performance.now() - at);

    const sender = await peer(broker.url, `${id}-sender`);
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
      publishUs: (publishNs - idleRate * publishMs) / COUNT / 1000,
      receiveUs: (receiveNs - idleRate * receiveMs) / COUNT / 1000,
    };
  } finally {
    await sim.kill();
  }
}

/** Tether's whole firmware (bench/mcsim/firmware): the XS heap after GC once connected and subscribed. */
async function firmwareHeap(library: string): Promise<number> {
  const sim = Mcsim.start(library);
  try {
    const subscribed = await sim.waitFor(/ I mqtt subscribed [^\n]*\n/, 30000);
    const [, heap] = await sim.waitFor(/heap (\d+)\n/, 5000, subscribed.index! + subscribed[0].length);
    return Number(heap);
  } finally {
    await sim.kill();
  }
}

export async function mcsimBench(broker: Mosquitto, reps: number, log: (line: string) => void): Promise<Row[]> {
  const builds: Build[] = [];
  let firmware: Build | undefined;
  try {
    log("  building Tether's firmware");
    firmware = build("bench/mcsim/firmware", {
      platform: "lin",
      instrument: true,
      // No power-on spread (one device), and a clean session every run, so that every run subscribes.
      config: { broker: broker.url, clientId: "bench-firmware", backoffSpread: "0", cleanSession: "1" },
    });
    const firmwareHeaps: number[] = [];
    for (const [subject, dir] of SUBJECTS) {
      log(`  building ${subject}`);
      const id = subject.startsWith("Tether") ? "tether" : "moddable";
      builds.push(
        build(dir, {
          platform: "lin",
          instrument: true,
          config: { port: String(broker.port), id, count: String(COUNT), size: String(SIZE) },
        }),
      );
    }
    const samples: Sample[][] = SUBJECTS.map(() => []);
    // A warm-up run of each, then A/B alternated.
    for (let rep = -1; rep < reps; rep++) {
      for (let s = 0; s < SUBJECTS.length; s++) {
        const id = s === 0 ? "tether" : "moddable";
        const sample = await oneRun(builds[s].library!, broker, id);
        if (rep >= 0) samples[s].push(sample);
        log(
          `  ${SUBJECTS[s][0]} ${rep < 0 ? "warm-up" : `run ${rep + 1}`}: heap ${sample.heap} B, publish ${sample.publishUs.toFixed(1)} us, receive ${sample.receiveUs.toFixed(1)} us`,
        );
      }
      if (rep >= 0) {
        firmwareHeaps.push(await firmwareHeap(firmware.library!));
        log(`  Tether's firmware run ${rep + 1}: heap ${firmwareHeaps[rep]} B`);
      }
    }
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
        goal: { text: `${goalText} (now ${ratio.toFixed(1)}x)`, met: ratio <= factor },
        note,
      };
    };
    return [
      row(
        "XS heap after GC, connected and subscribed",
        "B",
        (s) => s.heap,
        2,
        "drop-in heap <= 2x Moddable's",
        "instrumented release build for lin, 64-bit: slots are 32 B here (16 B on an ESP32)",
      ),
      row(
        `CPU per QoS 0 publish (${SIZE} B)`,
        "us",
        (s) => s.publishUs,
        2,
        "<= 2x Moddable's",
        "simulator main thread, idle rate subtracted",
      ),
      row(
        `CPU per QoS 0 message received (${SIZE} B)`,
        "us",
        (s) => s.receiveUs,
        1,
        "<= 1x Moddable's",
        "simulator main thread, idle rate subtracted",
      ),
      {
        section: "mcsim",
        name: "Tether's firmware: XS heap after GC, connected and subscribed",
        unit: "B",
        higherIsBetter: false,
        values: [["Tether (firmware)", stat(firmwareHeaps)]],
        goal: { text: `<= ${FIRMWARE_GOAL / 1024} KB`, met: stat(firmwareHeaps).median <= FIRMWARE_GOAL },
        note: "the whole firmware (diagnostics, console, history, beacon, command topic), code preloaded; its bench module's one timer included",
      },
    ];
  } finally {
    for (const b of builds) b.remove();
    firmware?.remove();
  }
}
