// Turns the rows into the console table, bench/results.json, docs/benchmarks.svg and docs/benchmarks.md.
import { writeFileSync } from "node:fs";
import { advantage, type Row, type Stat } from "./stats";

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  mosquitto: string;
  date: string;
}

/** Subjects that are Tether itself in another engine: no ratio against them. */
const SELF = new Set(["Tether (XS)"]);

function num(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(3);
}

function cell(s: Stat): string {
  return `${num(s.median)} (${num(s.min)}–${num(s.max)})`;
}

function peers(row: Row): string[] {
  return row.values
    .slice(1)
    .map(([subject]) => subject)
    .filter((subject) => !SELF.has(subject));
}

function ratios(row: Row): string {
  return peers(row)
    .map((peer) => {
      const r = advantage(row, peer);
      return r === undefined ? "" : `${r.toFixed(2)}x vs ${peer}`;
    })
    .filter(Boolean)
    .join("; ");
}

function goal(row: Row): string {
  if (!row.goal) return "";
  return row.goal.met ? `met (${row.goal.text})` : `**MISSED** (${row.goal.text})`;
}

/** One markdown table per section; columns are the section's subjects. */
export function tables(rows: Row[]): string {
  const sections = [...new Set(rows.map((r) => r.section))];
  return sections
    .map((section) => {
      const mine = rows.filter((r) => r.section === section);
      const subjects = [...new Set(mine.flatMap((r) => r.values.map(([s]) => s)))];
      const head = ["measure", "unit", ...subjects, "Tether's advantage", "goal"];
      const lines = [`### ${section}`, "", `| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
      for (const r of mine) {
        const values = subjects.map((s) => {
          const found = r.values.find(([subject]) => subject === s);
          return found ? cell(found[1]) : "";
        });
        const name = r.note ? `${r.name} <sub>${r.note}</sub>` : r.name;
        lines.push(`| ${[name, r.unit, ...values, ratios(r), goal(r)].join(" | ")} |`);
      }
      return lines.join("\n");
    })
    .join("\n\n");
}

/** Plain text for the terminal: one line per row and subject. */
export function consoleTable(rows: Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.section} | ${r.name} [${r.unit}]${r.goal ? `  goal ${goal(r).replace(/\*\*/g, "")}` : ""}`);
    for (const [subject, s] of r.values) out.push(`    ${subject.padEnd(28)} ${cell(s)}`);
    const rs = ratios(r);
    if (rs) out.push(`    ${rs}`);
  }
  return out.join("\n");
}

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * A horizontal bar per comparison: Tether's advantage (x times) over each peer, for the codec and end-to-end rows.
 * The line at 1x is parity; a goal is drawn as a tick on its bar.
 */
export function chart(rows: Row[]): string {
  const bars: { label: string; ratio: number; goal?: number; met?: boolean }[] = [];
  for (const r of rows) {
    for (const peer of peers(r)) {
      const ratio = advantage(r, peer);
      if (ratio === undefined || r.section === "Recovery") continue;
      const wanted = r.goal && peer === r.values[1][0] ? Number(/([\d.]+)x/.exec(r.goal.text)?.[1]) : undefined;
      bars.push({ label: `${r.name} — vs ${peer}`, ratio, goal: wanted, met: r.goal?.met });
    }
  }
  const labelWidth = 430;
  const plot = 420;
  const rowHeight = 18;
  const top = 40;
  const max = Math.max(2.5, ...bars.map((b) => Math.min(b.ratio, 10)));
  const x = (v: number) => labelWidth + (Math.min(v, max) / max) * plot;
  const height = top + bars.length * rowHeight + 30;
  const width = labelWidth + plot + 70;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Tether's advantage over each peer (x times; right of the red line is faster than the peer)</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    const color = b.ratio >= 1 ? "#2b7bb9" : "#d98c2b";
    parts.push(`<text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(
      `<rect x="${labelWidth}" y="${y + 3}" width="${x(b.ratio) - labelWidth}" height="${rowHeight - 6}" fill="${color}"/>`,
    );
    parts.push(`<text x="${x(b.ratio) + 4}" y="${y + 12}">${b.ratio.toFixed(2)}x</text>`);
    if (b.goal) {
      const gx = x(b.goal);
      const mark = b.met ? "#2a9d4b" : "#c0392b";
      parts.push(
        `<line x1="${gx}" x2="${gx}" y1="${y + 1}" y2="${y + rowHeight - 1}" stroke="${mark}" stroke-width="3"/>`,
      );
    }
  });
  const one = x(1);
  parts.push(
    `<line x1="${one}" x2="${one}" y1="${top - 4}" y2="${height - 24}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
  );
  parts.push(`<text x="${one}" y="${height - 10}" text-anchor="middle">1x</text>`);
  parts.push(
    `<text x="${labelWidth + plot}" y="${height - 10}" text-anchor="end">goal ticks: green met, red missed; bars capped at ${num(max)}x</text>`,
  );
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

export function markdown(rows: Row[], machine: Machine, command: string): string {
  const goals = rows.filter((r) => r.goal);
  const missed = goals.filter((r) => !r.goal!.met);
  return `# Benchmarks

Generated by \`${command}\` on ${machine.date}. Do not edit by hand: run it again.

Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.mosquitto}, loopback only.
Every figure is the median of the repetitions with (min–max); the advantage column is Tether's median over the
peer's, oriented so that above 1 means Tether is better (faster, smaller, sooner).

Goals: ${goals.length - missed.length} of ${goals.length} met${missed.length ? `; missed: ${missed.map((r) => `${r.section}: ${r.name}`).join("; ")}` : ""}.

![Tether's advantage over each peer](benchmarks.svg)

${tables(rows)}

## What is measured

- **Codec**: packets per second through Tether's \`Encoder\`/\`Decoder\` and through mqtt-packet's
  \`generate\`/\`parser\` on Node, in one process, on the same packets: eight PUBLISHes per case (3.1.1), and one
  packet of every type of MQTT 5.0 with properties. Decoders get the encoded stream in 1460-byte chunks. Tether (XS)
  is the same loop in xsnap, timed with \`Date.now()\` inside XS. Tether's encoder returns a view of a buffer it
  reuses, where \`generate\` allocates a Buffer per packet: Tether's encode rates, Node and XS, include a copy of
  each packet (\`slice()\`), the copy its hosts make before writing. Runs last 100 ms; the three subjects
  alternate (below).
- **Meter**: xsnap's computrons, XS's own count of the work a delivery does (bytecodes run, plus the work inside
  built-ins), which is the same on every run of the same code on the same input: a regression shows as a changed
  number, not as noise. Everything runs inside one xsnap on a host with nothing behind it (\`bench/xs/manual-host.ts\`:
  time moves 1 ms per message by hand, timers fire only then, the socket counts the bytes written and takes bytes
  fed to it). Publish is Moddable's \`client.publish(topic, 64-byte ArrayBuffer, {quality})\` on the drop-in
  \`Client\` (MQTT 3.1.1, connected), a QoS 1 message acknowledged by a PUBACK fed back at once; receive is one
  PUBLISH of 64 bytes per socket read, counted in \`onMessage\` (a QoS 1 one answered with a PUBACK); the codec rows
  are Tether's \`Encoder\` and \`Decoder\` alone on the same PUBLISHes, the baseline under both. Each figure is one
  delivery of 1,000 messages, after a warm-up delivery, divided by 1,000: the delivery's own cost (a few hundred
  computrons, given in the note) is under one computron a message. The host's few steps per message are included, but for its clock: publish and receive move it 1 ms a message, and that step, which runs the harness's timer list (free on a device while no timer is due), is measured alone and taken off.
  The peer, where an SDK is built: Moddable's own \`mqtt\` module, read from the SDK (never copied here), in xsnap on
  fakes of the SDK's \`socket\`, \`timer\` and \`time\` modules (\`bench/xs/moddable/\`) that do as little as
  ManualHost, on the same QoS 0 workload: the same topics and payload, one PUBLISH per socket read, 1 ms of fake time
  and the timers due per message. xsnap's XS is built for CESU-8 and lacks \`ArrayBuffer.fromString\` and
  \`String.fromArrayBuffer\`, native on a device, which Moddable's module calls for each topic: they are xsnap's
  native TextEncoder and TextDecoder behind one call each, a few computrons a message counted against Moddable's.
- **End to end**: one mosquitto on a loopback port (\`set_tcp_nodelay true\`: without it, the broker's Nagle
  holds deliveries to a subscriber that never writes back for its delayed ACKs, 40 ms stalls); publisher and
  subscriber are both the client under test, in MQTT 3.1.1, 64-byte payloads. Every subject is counted at the same
  point: where its messages arrive at its own subscriber, subscribed at QoS 0, so each message, QoS 1 and 2 included,
  is timed publisher, broker, subscriber. QoS 0 is published in batches without pacing; QoS 1 and 2 sequentially
  (the next published when the previous has arrived at the subscriber) or with a window of 16 (at most 16 published
  and not yet arrived). Tether is its drop-in \`Client\` (\`modules/compat/mqtt.ts\`, Moddable's API, what
  applications call: topic validation, a copy of each payload, diagnostics, callbacks from a timer), on a Node host
  (\`bench/node-host.ts\`) and inside xsnap through the simulator's host bridge (each socket operation a round trip
  between two processes); on both, a 0 ms timer runs on the next turn of the event loop, as Moddable's
  \`Timer.set(callback, 0)\` does, not after Node's 1 ms \`setTimeout\` floor. The drop-in reports no PUBACK or
  PUBCOMP (Moddable's module has none), which is why its subscriber is the point; MQTT.js, whose publisher does
  report them, is counted at its subscriber too, a second MQTT.js client, and its completions are not waited for.
  mosquitto_pub/sub is the ceiling (\`mosquitto_pub -l -M <window>\`, timed by \`mosquitto_sub -F %U\` between
  first and last arrival); its window is of messages not yet acknowledged to the publisher, as it cannot wait for
  its subscriber, so its sequential rows overlap deliveries the others do not.
- **Runs**: in the codec and end-to-end sections each subject first runs once as a warm-up (discarded), then every
  repetition runs every subject once, the order rotated by one each time, so that drift on this shared machine falls
  on all subjects alike.
- **Footprint**: bytecode is each file of \`modules/\` transpiled alone and compiled by the XS compiler (the parser
  and code generator of the XS sources shipped in @agoric/xsnap, driven by \`bench/xs-size.c\`) as a strict module
  without debug information: the bytes xsc would store, strings included, symbol tables apart. Heap is Tether's
  firmware (not the drop-in) in xsnap, measured from snapshots taken after a full garbage collection, beyond a
  baseline taken once all code is loaded and before the firmware starts: module code, functions and module-level
  objects are not counted (on a device they are in flash when preloaded, in RAM otherwise). Live slots are counted
  at the ESP32's 16 bytes, plus chunks (strings, buffers) and new property keys. Each run does the same in the same
  order, so the heap rows are deterministic: their repetitions show that (min = max) and are not alternated.
- **Recovery**: Tether's supervisor (\`tether/client/client\`) on the Node host and MQTT.js, both with a 5 s keep
  alive, and MQTT.js with its defaults (60 s), side by side behind a fault-injection proxy: one client of each per
  repetition, the repetitions a second apart. The blackhole drops everything both ways without closing; time runs
  from the blackhole to the client's close. The restart test takes mosquitto down for two seconds (new connects
  refused) and times from the new broker accepting to the client's CONNACK.
- **mcsim** (only where a Moddable SDK is built): one application (\`bench/mcsim/app.js\`) built twice, on Moddable's
  own \`mqtt\` module and on Tether's drop-in \`tether-mqtt\` alone (\`hosts/moddable/manifest.json\`: plain
  \`mqtt://\`, no TLS, no WebSocket, none of the firmware's app), instrumented release builds for lin (64-bit: XS slots
  are 32 bytes here, 16 on an ESP32), a warm-up run of each, then runs alternated, the order swapped every
  repetition. Heap: XS slot and chunk heap in use after \`Debug.gc()\`, once connected and subscribed: everything the
  application holds, the same application in both. Moddable's module is preloaded (its manifest says so), and so
  are Tether's modules, \`tether-mqtt\` included; what its clients share (the host, in \`hosts/moddable/drop-in\`, not
  preloaded) is made with the first Client, and counts. What the drop-in holds that Moddable's module does not: the reconnect supervisor and its
  backoff, the session (QoS 1 and 2 in flight, the offline queue), MQTT 5, the failure codes (the diagnoser, in
  \`manifest_diagnose.json\`, is not in it). CPU: the
  simulator's main thread's time (\`/proc/<pid>/schedstat\`) while publishing 5,000 QoS 0 messages of 64 bytes
  (paced at 16 per 20 ms, what the SDK's lin socket moves in one turn) or receiving 5,000 from an MQTT.js publisher,
  less the thread's idle rate measured in a quiet window of 2 s just before that phase (the application waits 2.5 s
  after its heap line before publishing; the receive window follows the publisher's connect), per message. Rates are
  not compared there: the transport, not the client, sets them. CPU on a shared machine is noisy: the load is in the
  report that quotes a run. Flash: the release \`.xsb\` modules one build has and the other does not, which is what
  each MQTT part adds to the same application (the row's note lists them); the drop-in with WebSocket adds the two
  modules \`manifest_websocket.json\` maps, as Moddable's module always carries its WebSocket client; and
  \`mc.xs.c.o\` (text + data), the whole linked XS image of each build. The firmware rows are Tether's whole firmware
  (\`bench/mcsim/firmware\`: \`hosts/moddable/manifest_firmware.json\` at its shipped settings, only the broker and
  the client id given, with the repository's main module and a timer that prints the heap after \`Debug.gc()\` every
  second), read once it is connected and subscribed, once per repetition; its persistent session is removed at the
  broker before each run (a clean connect of its id), so that each run subscribes as a first boot does, after its
  power-on spread. Every run is a new device, with storage of its own (its first boot, an empty history). On lin,
  Moddable's \`Preference\` is a JavaScript object that keeps every name it is asked for as a property key: the
  firmware asks it only for the names it holds (\`hosts/moddable/sim/stored.ts\`), as an ESP32's, which reads NVS
  natively, keeps none (the history's 64 slots and the session's read at boot took 4.6 KB of this row before).
`;
}

export function writeReports(rows: Row[], machine: Machine, command: string): void {
  writeFileSync("bench/results.json", `${JSON.stringify({ machine, command, rows }, null, 2)}\n`);
  writeFileSync("docs/benchmarks.svg", chart(rows));
  writeFileSync("docs/benchmarks.md", markdown(rows, machine, command));
}
