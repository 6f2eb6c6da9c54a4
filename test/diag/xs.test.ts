// The diagnostics modules run in XS, the engine of the device: one scenario, bundled once, runs in an xsnap worker
// and in Node, and must print the same lines in both.

import { runInNewContext } from "node:vm";
import { build } from "esbuild";
import { Xsnap } from "../../hosts/sim/node/xsnap";

const SCENARIO = `
import { execute } from "tether/diag/console";
import { FAILURES, failureLevel } from "tether/diag/failures";
import { History } from "tether/diag/history";
import { formatLine, Logger, parseLine } from "tether/diag/log";
import { formatStats, Stats } from "tether/diag/stats";

export function run() {
  const out = [];
  let now = 0;
  const logger = new Logger((line) => out.push(line), () => now, 2, 1000);
  for (; now < 1500; now += 100) logger.warn("net", "retry", { url: "mqtt://u:s3cret@h", password: "x" });
  logger.tick(2000);
  logger.info("odd", "chars", { v: 'a "b"\\n\\u2028=\\x01 é' });
  out.push(JSON.stringify(parseLine(out[out.length - 1])));
  for (const info of FAILURES) out.push(formatLine(1, failureLevel(info), "diag", info.code, { broker: "mqtt://h:1883", hint: info.hint }));
  const commands = [{ name: "echo", usage: "<text>", help: "say it", min: 1, max: 1, run: (a, print) => print(a[0]) }];
  for (const line of ['echo "two words"', "echo", "nope", "help", 'echo "open']) execute(commands, line, (l) => out.push(l));
  const stats = new Stats(4);
  stats.attempt();
  stats.connected(10, 30);
  for (const ms of [50, 10, 40, 20, 30]) stats.pingRtt(ms);
  stats.failed(500, "keepalive_timeout");
  out.push(...formatStats(stats.snapshot(600)));
  const data = new Map();
  const storage = { readSetting: (k) => data.get(k), writeSetting: (k, v) => (v === undefined ? data.delete(k) : data.set(k, v)) };
  const first = new History(storage, 3);
  for (let i = 0; i < 4; i++) first.add(i * 10, "code" + i, "detail " + i);
  new History(storage, 3).format().forEach((l) => out.push(l));
  return out;
}

/** Records n of each: history events (into storage that keeps nothing, as Preference is off the heap), samples. */
export function recorder() {
  const history = new History({ readSetting: () => undefined, writeSetting: () => {} }, 64);
  const stats = new Stats();
  return (n) => {
    for (let i = 0; i < n; i++) {
      history.add(i, "tcp_refused", "broker=mqtt://10.0.0.5:1883");
      stats.pingRtt(i);
      stats.received(1, i);
      stats.failed(i, "tcp_refused");
    }
  };
}
`;

async function bundle(): Promise<string> {
  const result = await build({
    stdin: { contents: SCENARIO, loader: "ts", resolveDir: process.cwd(), sourcefile: "scenario.ts" },
    bundle: true,
    format: "iife",
    globalName: "scenario",
    target: "es2022",
    platform: "neutral",
    tsconfig: "tsconfig.json",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

test("the diagnostics behave the same in XS as in Node", async () => {
  const code = await bundle();
  const inNode = runInNewContext(`${code}; scenario.run()`) as string[];
  // XS hands results back as an ArrayBuffer: the JSON text as UTF-16 code units.
  const xs = new Xsnap({ name: "diag-test" });
  try {
    const reply = await xs.evaluate(`${code};
      (() => {
        const text = JSON.stringify(scenario.run());
        const units = new Uint16Array(text.length);
        for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
        return units.buffer;
      })()`);
    const inXs = JSON.parse(Buffer.from(reply).toString("utf16le"));
    expect(inXs).toEqual(JSON.parse(JSON.stringify(inNode)));
  } finally {
    xs.kill();
    await xs.exited;
  }
  expect(inNode.slice(0, 4)).toEqual([
    "0 W net retry url=mqtt://u:***@h password=***",
    "1000 W net retry ... 9 similar suppressed",
    "1000 W net retry url=mqtt://u:***@h password=***",
    "2000 W net retry ... 4 similar suppressed",
  ]);
  expect(inNode).toContain("error: echo takes 1 argument; usage: echo <text>");
  expect(inNode).toContain("rtt.ping n=4 min=10 mean=25 max=40 p95=40");
  expect(inNode.slice(-4)).toEqual([
    "history events=3 boot=2 (prev = before the last reboot)",
    "prev b1 10 code1 detail 1",
    "prev b1 20 code2 detail 2",
    "prev b1 30 code3 detail 3",
  ]);
});

test("history and statistics keep a fixed heap however much they record", async () => {
  const code = await bundle();
  const xs = new Xsnap({ name: "diag-heap" });
  try {
    await xs.evaluate(`${code}; globalThis.record = scenario.recorder();`);
    const live = async (n: number) => {
      await xs.evaluate(`record(${n}); gc();`);
      return xs.meter?.currentHeapCount ?? 0;
    };
    const first = await live(1);
    const second = await live(0);
    const third = await live(200);
    expect(first).toBeGreaterThan(0);
    // xsnap keeps the same slot or so per command, as the one that records nothing shows: the rest would be kept
    // by recording.
    expect(third - second).toBe(second - first);
  } finally {
    xs.kill();
    await xs.exited;
  }
});
