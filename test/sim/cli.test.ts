// `npm start`: its options, and the whole program run as a user runs it.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReadStream } from "node:tty";
import { SETTINGS } from "tether/app/settings";
import { parseArgs, USAGE } from "../../hosts/sim/node/cli";
import { startAedes } from "../../tools/rigs/aedes";
import { makeCertificates, OPENSSL, startTlsFront } from "../../tools/rigs/tls";
import { untilOutput } from "../helpers/events";
import { mosquittoTest, startMosquitto } from "../helpers/mosquitto";

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

  test("every setting can be given, as --set key=value (repeatable) or as its own option, the CA file too", () => {
    const folder = mkdtempSync(join(tmpdir(), "tether-cli-"));
    const ca = join(folder, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
    try {
      expect(
        parseArgs([
          ...["--set", "keepAliveMin=5", "--set=topicPrefix=plant", "--backoff-base", "200", "--backoff-cap=800"],
          ...["--ca", ca, "--set", "mqttPassword=a=b", "--set", "password=wifi secret", "--beacon-interval", "0"],
        ]).config,
      ).toEqual({
        keepAliveMin: "5",
        topicPrefix: "plant",
        backoffBase: "200",
        backoffCap: "800",
        brokerCa: ca,
        mqttPassword: "a=b",
        password: "wifi secret",
        beaconInterval: "0",
      });
      expect(parseArgs(["--broker-ca", ca]).config).toEqual({ brokerCa: ca });
      // The usage names a way to give each one.
      for (const spec of SETTINGS) {
        const option = `--${spec.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        expect(USAGE).toMatch(
          new RegExp(`^  (${option}|--set ${spec.key}=) +${spec.help.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "m"),
        );
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test.each([
    [["--frobnicate"], "unknown option --frobnicate"],
    [["extra"], "unexpected argument extra"],
    [["--broker"], "option --broker needs a value"],
    [["--broker", "http://x:1"], 'malformed broker URL "http://x:1"'],
    [["--broker", "mqtt://ok:1883,mqtt://bad:99999"], 'malformed broker URL "mqtt://bad:99999": port must be 1..65535'],
    [["--mqtt-version", "4"], "mqttVersion=4: must be one of 3.1.1|5"],
    [["--keepalive", "soon"], "keepAlive=soon: must be a whole number from 1 to 65535"],
    // The same rules as `config set`: a keep alive of 0 would stop the firmware with a configuration error.
    [["--keepalive", "0"], "keepAlive=0: must be a whole number from 1 to 65535"],
    [["--set", "keepAlive=0"], "keepAlive=0: must be a whole number from 1 to 65535"],
    [["--set", "nope=1"], 'unknown setting "nope"'],
    [["--set", "keepAlive"], "--set needs KEY=VALUE, not keepAlive"],
    [["--set", "=5"], "--set needs KEY=VALUE, not =5"],
    [["--backoff-base", "5000", "--backoff-cap", "1000"], "backoffCap=1000: must not be below backoffBase=5000"],
    [["--ca", "/nonexistent/ca.pem"], "brokerCa=/nonexistent/ca.pem: cannot read the file (ENOENT)"],
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
      // A process group of its own, as a shell gives a foreground job: Ctrl-C signals the whole group.
      detached: true,
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
    [["--broker", "mqtt:/nohost"], /^tether-sim: broker=mqtt:\/nohost: malformed broker URL "mqtt:\/nohost".*\n$/],
    [["--keepalive", "0"], /^tether-sim: keepAlive=0: must be a whole number from 1 to 65535 \(see --help\)\n$/],
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

  (OPENSSL ? test : test.skip)("--ca: the device trusts an mqtts:// broker whose CA the file holds", async () => {
    const certs = makeCertificates();
    const broker = await startAedes();
    const front = await startTlsFront(certs.good, broker.port);
    try {
      const run = simulator("--broker", `mqtts://localhost:${front.port}`, "--ca", certs.ca, "--client-id", "ca-cli");
      await run.stdoutMatches(/ I mqtt subscribed filters=tether\/ca-cli\/cmd/);
      run.child.stdin!.end();
      expect(await run.exited).toBe(0);
      expect(run.output.stdout).not.toMatch(/ diag /);
    } finally {
      await front.close();
      await broker.stop();
      certs.remove();
    }
  });

  test("Ctrl-C shuts the device down and exits 0", async () => {
    const run = simulator();
    await run.stderrMatches(/embedded broker/);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
  });

  mosquittoTest(
    "Ctrl-C in a terminal (SIGINT to the whole process group): the broker gets a DISCONNECT",
    async () => {
      const broker = await startMosquitto();
      try {
        const run = simulator("--broker", broker.url, "--client-id", "sim-ctrl-c", "--set", "backoffSpread=0");
        await run.stdoutMatches(/ I mqtt subscribed /);
        process.kill(-run.child.pid!, "SIGINT");
        expect(await run.exited).toBe(0);
        expect(run.output.stdout).not.toContain("*** device halted");
        expect(broker.log()).toMatch(/Client sim-ctrl-c disconnected\./);
        expect(broker.log()).not.toMatch(/Client sim-ctrl-c closed its connection/);
      } finally {
        await broker.stop();
      }
    },
    30000,
  );

  mosquittoTest(
    "its serial port (a pseudo-terminal) disappears: DISCONNECT, one line, SIGHUP, no crash",
    async () => {
      const broker = await startMosquitto();
      const dir = mkdtempSync(join(tmpdir(), "tether-sim-pty-"));
      const [near, far] = [join(dir, "ttyNEAR"), join(dir, "ttyFAR")];
      const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${near}`, `pty,raw,echo=0,link=${far}`]);
      children.push(socat);
      try {
        let socatLog = "";
        socat.stderr.on("data", (chunk) => (socatLog += chunk));
        await untilOutput(socat.stderr, () => socatLog, /starting data transfer loop/);
        const tty = openSync(far, "r+");
        const child = spawn(
          process.execPath,
          [
            "scripts/run-ts.mjs",
            "hosts/sim/node/start.ts",
            "--broker",
            broker.url,
            "--client-id",
            "sim-pty",
            "--set",
            "backoffSpread=0",
          ],
          { stdio: [tty, tty, "pipe"], detached: true },
        );
        children.push(child);
        closeSync(tty);
        let stderr = "";
        child.stderr!.on("data", (chunk) => (stderr += chunk));
        const exited = once(child, "exit");
        // The device's own word that the broker accepted it (its serial port, read at socat's other end): before its
        // CONNACK a device that shuts down has no session to say DISCONNECT in, and the broker's log of the CONNECT
        // came too early for that on a busy machine.
        const serial = new ReadStream(openSync(near, "r+"));
        serial.on("error", () => {});
        let serialLog = "";
        serial.on("data", (chunk) => (serialLog += chunk));
        await untilOutput(serial, () => serialLog, / I mqtt connected /);
        serial.destroy();
        socat.kill();
        const [code, signal] = await exited;
        // As Unix ends a process whose terminal hung up; not a crash (SIGSEGV after Node's failed assertion).
        expect({ code, signal }).toEqual({ code: null, signal: "SIGHUP" });
        expect(stderr).toMatch(/^sim: serial port lost \(\w+\): the device shuts down$/m);
        expect(stderr).not.toMatch(/Assertion|Error|segmentation/i);
        expect(broker.log()).toMatch(/Client sim-pty disconnected\./);
      } finally {
        await broker.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30000,
  );
});
