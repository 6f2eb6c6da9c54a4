// `npm run monitor`: how a line is shown, and the whole monitor on a real pseudo-terminal pair (socat) whose other
// end is wired to a simulated device, as a USB serial adapter is wired to a board: lines from the device are shown
// coloured and expanded and saved, a typed command reaches the device and its answer comes back.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { SimDevice } from "../../hosts/sim/node/device";
import { render } from "../../tools/monitor/render";
import { freePort } from "../../tools/rigs/mosquitto";
import { untilOutput } from "../helpers/events";

test("render: colour by level, console output, and a failure line followed by its causes and fixes", () => {
  expect(render("12 I mqtt connected session=new keepalive=60 rtt=3 n=1", true)).toEqual([
    "12 I mqtt connected session=new keepalive=60 rtt=3 n=1",
  ]);
  expect(render("| state=connected", true)).toEqual(["\x1b[36m| state=connected\x1b[0m"]);
  const failure = render('81 W diag tcp_refused broker=10.0.0.5:1883 error=refused hint="check the port"', true);
  expect(failure[0]).toBe(
    '\x1b[33m81 W diag tcp_refused broker=10.0.0.5:1883 error=refused hint="check the port"\x1b[0m',
  );
  expect(visible(failure[1]!)).toMatch(/^<ESC>\[35m {4}tcp_refused: /);
  expect(failure.slice(2).map(visible)).toEqual([
    expect.stringMatching(/^<ESC>\[35m {6}cause: The broker is not running\. fix: Start it/),
    expect.stringMatching(/cause: Wrong port in `broker`\./),
  ]);
  // A suppression summary is not expanded again; without colour nothing is added.
  expect(render("90 W diag tcp_refused ... 4 similar suppressed", false)).toEqual([
    "90 W diag tcp_refused ... 4 similar suppressed",
  ]);
});

test("--file: a saved log, shown with its causes and fixes; no colours when the output is not a terminal", () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-monitor-"));
  try {
    const log = join(dir, "saved.log");
    writeFileSync(log, '5 I app boot platform=esp32\r\n9 E diag bad_credentials user=set hint="check"\r\n');
    const run = spawnSync(process.execPath, ["scripts/run-ts.mjs", "tools/monitor.ts", "--file", log], {
      encoding: "utf8",
    });
    expect(run.status).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "5 I app boot platform=esp32",
      '9 E diag bad_credentials user=set hint="check"',
    ]);
    expect(lines[2]).toMatch(/^ {4}bad_credentials: The broker refused the user name or password/);
    expect(lines[3]).toMatch(/^ {6}cause: Wrong `mqttPassword`/);
    expect(run.stdout).not.toContain("\x1b");
    const missing = spawnSync(process.execPath, ["scripts/run-ts.mjs", "tools/monitor.ts", "/dev/ttyNOPE"], {
      encoding: "utf8",
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^monitor: .*\/dev\/ttyNOPE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--sim: a simulated device (npm start) as the board: its output shown, a typed command answered", async () => {
  const monitor = spawn(
    process.execPath,
    ["scripts/run-ts.mjs", "tools/monitor.ts", "--sim", "--", "--client-id", "sim-mon"],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  try {
    let shown = "";
    monitor.stdout.on("data", (chunk) => (shown += chunk));
    await untilOutput(monitor.stdout, () => shown, /^\d+ I mqtt connected /m);
    monitor.stdin.write("status\n");
    await untilOutput(monitor.stdout, () => shown, /^\| state=connected client_id=sim-mon /m);
    // The end of input is the simulator's too: the device says goodbye, then both exit.
    monitor.stdin.end();
    expect(await new Promise((resolve) => monitor.once("exit", (code) => resolve(code)))).toBe(0);
    expect(shown).toMatch(/^\d+ I app shutdown$/m);
  } finally {
    monitor.kill();
  }
});

/** ANSI escapes made visible, so that expectations can spell them. */
const visible = (text: string) => text.replaceAll("\x1b", "<ESC>");

/** Debian's socat (apt-get install -y socat; CI installs it). */
const SOCAT = "socat";

/** Resolves once `text()` matches, checking whenever `stream` has data; rejects after `ms`. */
test("on a pseudo-terminal wired to a simulated device: shows, expands, saves, types", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-monitor-"));
  const [host, board, saved] = [join(dir, "ttyHOST"), join(dir, "ttyBOARD"), join(dir, "session.log")];
  let socat: ChildProcess | undefined;
  let monitor: ChildProcess | undefined;
  let device: SimDevice | undefined;
  let port: SerialPort | undefined;
  try {
    socat = spawn(SOCAT, ["-d", "-d", `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${board}`]);
    let socatLog = "";
    socat.stderr!.on("data", (chunk) => (socatLog += chunk));
    await untilOutput(socat.stderr!, () => socatLog, /starting data transfer loop/);

    monitor = spawn(process.execPath, ["scripts/run-ts.mjs", "tools/monitor.ts", host, "--save", saved, "--color"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let shown = "";
    monitor.stdout!.on("data", (chunk) => (shown += chunk));
    // The monitor has the port open before the board starts talking, as when a board is reset under it.
    let opened = "";
    monitor.stderr!.on("data", (chunk) => (opened += chunk));
    await untilOutput(monitor.stderr!, () => opened, /monitor: .* at 115200 baud, saving to /);

    // The board: a simulated device whose serial port is the pseudo-terminal's far end, CRLF as a board sends.
    port = new SerialPort({ path: board, baudRate: 115200 });
    const wire = port;
    const refused = await freePort();
    device = await SimDevice.start({
      config: {
        broker: `mqtt://127.0.0.1:${refused}`,
        clientId: "monitor-test",
        backoffBase: "500",
        backoffCap: "1000",
        beaconInterval: "0",
      },
      onSerial: (text) => wire.write(text.replace(/\n/g, "\r\n")),
    });
    const sim = device;
    let typed = "";
    port.on("data", (chunk: Buffer) => {
      typed += chunk.toString("latin1");
      for (let end = typed.search(/[\r\n]/); end >= 0; end = typed.search(/[\r\n]/)) {
        if (end > 0) sim.typeLine(typed.slice(0, end));
        typed = typed.slice(end + 1);
      }
    });

    await untilOutput(
      monitor.stdout!,
      () => visible(shown),
      /diag tcp_refused [^\n]*\n<ESC>\[35m {4}tcp_refused: [^\n]*\n<ESC>\[35m {6}cause: /,
    );
    expect(visible(shown)).toMatch(/<ESC>\[33m\d+ W diag tcp_refused /);

    monitor.stdin!.write("status\n");
    await untilOutput(monitor.stdout!, () => visible(shown), /<ESC>\[36m\| state=\S+/);
    monitor.stdin!.end();
    const code = await new Promise((resolve) => monitor!.once("exit", (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);

    const log = readFileSync(saved, "utf8");
    expect(log).toMatch(/^\d+ I app boot /m);
    expect(log).toMatch(/^\d+ W diag tcp_refused /m);
    expect(log).toMatch(/^\| state=/m);
    // Saved as the device sent it: no colours, no expansions, no carriage returns.
    expect(visible(log)).not.toMatch(/<ESC>|\r|cause: /);
  } finally {
    monitor?.kill();
    await device?.kill();
    if (port?.isOpen) await new Promise((resolve) => port!.close(resolve));
    socat?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
