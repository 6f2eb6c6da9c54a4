// `npm start`: its options, and the whole program run as a user runs it.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "../../hosts/sim/node/cli";

describe("parseArgs", () => {
  test("maps options to settings, in both spellings", () => {
    expect(
      parseArgs([
        ...["--broker", "mqtts://a.example:8883,mqtt://10.0.0.2:1883", "--client-id=dev-1", "--user", "u"],
        ...["--password", "p w", "--keepalive", "30", "--mqtt-version=5", "--storage", "s.json"],
        "--remote-commands=",
      ]),
    ).toEqual({
      help: false,
      storage: "s.json",
      config: {
        broker: "mqtts://a.example:8883,mqtt://10.0.0.2:1883",
        clientId: "dev-1",
        mqttUser: "u",
        mqttPassword: "p w",
        keepAlive: "30",
        mqttVersion: "5",
        remoteCommands: "",
      },
    });
    expect(parseArgs(["--help"]).help).toBe(true);
  });

  test.each([
    [["--frobnicate"], "unknown option --frobnicate"],
    [["extra"], "unexpected argument extra"],
    [["--broker"], "option --broker needs a value"],
    [["--broker", "http://x:1"], "malformed broker URL: http://x:1"],
    [["--broker", "mqtt://ok:1883,mqtt://bad:99999"], "malformed broker URL: mqtt://bad:99999"],
    [["--mqtt-version", "4"], "MQTT version must be 3.1.1 or 5: 4"],
    [["--keepalive", "soon"], "keep-alive must be 0..65535 seconds: soon"],
  ])("%j is refused: %s", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("the program", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  function simulator(...args: string[]) {
    const child = spawn(process.execPath, ["scripts/run-ts.mjs", "hosts/sim/node/start.ts", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(child);
    const output = { stdout: "", stderr: "" };
    child.stdout!.on("data", (chunk) => (output.stdout += chunk));
    child.stderr!.on("data", (chunk) => (output.stderr += chunk));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const matches = (stream: "stdout" | "stderr") => (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output[stream])) resolve();
        };
        child[stream]!.on("data", check);
        exited.then(() => reject(new Error(`exited without ${pattern}; ${stream}:\n${output[stream]}`)));
        check();
      });
    return { child, output, exited, stdoutMatches: matches("stdout"), stderrMatches: matches("stderr") };
  }

  test.each([
    [["--bogus"], /^tether-sim: unknown option --bogus .*\n$/],
    [["--broker", "mqtt:/nohost"], /^tether-sim: malformed broker URL: mqtt:\/nohost .*\n$/],
  ])("%j exits 2 with one line on stderr", async (args, line) => {
    const run = simulator(...args);
    expect(await run.exited).toBe(2);
    expect(run.output.stderr).toMatch(line);
    expect(run.output.stdout).toBe("");
  });

  test("--help prints usage", async () => {
    const run = simulator("--help");
    expect(await run.exited).toBe(0);
    expect(run.output.stdout).toMatch(/^usage: npm start/);
  });

  test("without --broker it starts aedes, connects to it; end of input shuts the device down and exits 0", async () => {
    const run = simulator();
    await run.stderrMatches(/sim: embedded broker \(aedes\) on mqtt:\/\/127\.0\.0\.1:\d+\n/);
    await run.stdoutMatches(/ I mqtt subscribed filters=tether\/[^/]+\/cmd/);
    run.child.stdin!.end();
    expect(await run.exited).toBe(0);
    expect(run.output.stdout).toMatch(/ I mqtt closed reason=shutdown/);
  });

  test("Ctrl-C shuts the device down and exits 0", async () => {
    const run = simulator();
    await run.stderrMatches(/embedded broker/);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
  });
});
