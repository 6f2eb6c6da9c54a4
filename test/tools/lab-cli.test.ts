// `npm run lab` as a person runs it: the list, a scenario with a command typed on the device's console once the
// diagnosis is in, the end of input ending it with the summary, the serial log saved for `npm run report`.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../hosts/sim/node/broker";
import { SCENARIOS } from "../../tools/lab/scenarios";
import { failureLines } from "../../tools/lab/summary";
import { MOSQUITTO, startMosquitto } from "../../tools/rigs/mosquitto";
import { untilOutput } from "../helpers/events";

const LAB = ["scripts/run-ts.mjs", "tools/lab.ts"];

/** Resolves once `text()` matches, checked whenever `stream` has data; rejects after `ms`. */
test("without a scenario: the list, one line each; an unknown one is a usage error", () => {
  const list = spawnSync(process.execPath, LAB, { encoding: "utf8" });
  expect(list.status).toBe(0);
  const shown = list.stdout.split("\n").map((line) => line.trim().split(/ {2,}/).slice(0, 2));
  for (const scenario of SCENARIOS) expect(shown).toContainEqual([scenario.name, scenario.title]);
  const unknown = spawnSync(process.execPath, [...LAB, "no-such-fault"], { encoding: "utf8" });
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toBe('lab: no scenario "no-such-fault" (npm run lab lists them) (see --help)\n');
});

test("a scenario: serial output, typed commands answered, the summary at the end of input, the log saved", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-lab-"));
  const log = join(dir, "lab.log");
  let lab: ChildProcess | undefined;
  try {
    lab = spawn(process.execPath, [...LAB, "oversized-message", "--log", log], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    lab.stdout!.on("data", (chunk) => (out += chunk));
    lab.stderr!.on("data", (chunk) => (err += chunk));
    await untilOutput(lab.stderr!, () => err, /^lab: the device named packet_too_large$/m);
    expect(out).toMatch(/^\d+ W diag packet_too_large /m);
    lab.stdin!.write("status\n");
    await untilOutput(lab.stdout!, () => out, /^\| state=\S+ client_id=lab-big-/m);
    lab.stdin!.end();
    const code = await new Promise((resolve) => lab!.once("exit", (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);
    expect(err).toContain("Diagnosis: packet_too_large, as expected.");
    expect(err).toMatch(/^ {2}line \d+: \d+ W diag packet_too_large /m);
    const saved = readFileSync(log, "utf8");
    expect(saved).toBe(out);
  } finally {
    lab?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Ctrl-C in a terminal (SIGINT to the whole process group): the device stops before its broker", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-lab-"));
  const log = join(dir, "lab.log");
  let lab: ChildProcess | undefined;
  try {
    // A process group of its own, as a shell gives a foreground job; the terminal signals all of it.
    lab = spawn(process.execPath, [...LAB, "broker-restart", "--log", log], {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let err = "";
    let out = "";
    lab.stderr!.on("data", (chunk) => (err += chunk));
    lab.stdout!.on("data", (chunk) => (out += chunk));
    // Stopped with a packet of the device's unread, mosquitto resets the connection rather than closing it. The
    // device's serial output goes before the lab's lines, so that a wait that fails shows what the device named.
    await untilOutput(lab.stderr!, () => `${out}${err}`, /^lab: the device named (broker_closed|tcp_reset)$/m);
    process.kill(-lab.pid!, "SIGINT");
    expect(await new Promise((resolve) => lab!.once("exit", (exitCode) => resolve(exitCode)))).toBe(0);
    const saved = readFileSync(log, "utf8");
    // The broker was back and the device connected: its log ends with its own goodbye, no failure after it.
    expect(failureLines(saved.slice(saved.lastIndexOf(" I mqtt connected ")))).toEqual([]);
    expect(saved).toMatch(/ I mqtt closed reason=shutdown\n\d+ I app shutdown\n$/);
  } finally {
    if (lab?.pid && lab.exitCode === null) process.kill(-lab.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}, 40000);

test("the brokers the lab starts are outside its process group: a terminal's Ctrl-C reaches the lab alone", async () => {
  const group = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2];
  const brokers = [await startBroker(), ...(MOSQUITTO ? [await startMosquitto()] : [])];
  try {
    for (const broker of brokers) expect(group(broker.pid)).not.toBe(group(process.pid));
  } finally {
    for (const broker of brokers) await broker.stop();
  }
});
