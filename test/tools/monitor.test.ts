// `npm run monitor`: how a line is shown, and the whole monitor on a real pseudo-terminal pair (socat) whose other
// end is wired to a simulated device, as a USB serial adapter is wired to a board: lines from the device are shown
// coloured and expanded and saved, a typed command reaches the device and its answer comes back.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { SimDevice } from "../../hosts/sim/node/device";
import { parseLevel, shown } from "../../tools/monitor/filter";
import { backtraceAddresses, kindOf, render } from "../../tools/monitor/render";
import { resetSequence } from "../../tools/monitor/sources";
import { freePort } from "../../tools/rigs/mosquitto";
import { until, untilOutput } from "../helpers/events";

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
    expect(lines.slice(0, 3)).toEqual([
      "    ---- the firmware boots ----",
      "5 I app boot platform=esp32",
      '9 E diag bad_credentials user=set hint="check"',
    ]);
    expect(lines[3]).toMatch(/^ {4}bad_credentials: The broker refused the user name or password/);
    expect(lines[4]).toMatch(/^ {6}cause: Wrong `mqttPassword`/);
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

test("--sim: a simulated device (npm start) as the board: its output shown, a typed command answered, --pcap", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-monitor-"));
  const pcap = join(dir, "session.pcap");
  const monitor = spawn(
    process.execPath,
    ["scripts/run-ts.mjs", "tools/monitor.ts", "--pcap", pcap, "--sim", "--", "--client-id", "sim-mon"],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  try {
    let [shown, said] = ["", ""];
    monitor.stdout.on("data", (chunk) => (shown += chunk));
    monitor.stderr.on("data", (chunk) => (said += chunk));
    await untilOutput(monitor.stdout, () => shown, /^\d+ I mqtt connected /m);
    monitor.stdin.write("trace on\nstatus\n");
    await untilOutput(monitor.stdout, () => shown, /^\| state=connected client_id=sim-mon /m);
    // The end of input is the simulator's too: the device says goodbye, then both exit.
    monitor.stdin.end();
    expect(await new Promise((resolve) => monitor.once("exit", (code) => resolve(code)))).toBe(0);
    expect(shown).toMatch(/^\d+ I app shutdown$/m);
    // The goodbye was traced: the capture holds it (tshark reads it in test/tools/broker-pcap.test.ts).
    expect(said).toMatch(/monitor: .*session\.pcap: [1-9]\d* packet\(s\) from the trace/);
    expect(readFileSync(pcap).readUInt32LE(0)).toBe(0xa1b2c3d4);
  } finally {
    monitor.kill();
    rmSync(dir, { recursive: true, force: true });
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

test("ESP-IDF around the firmware: a reset line, its own log lines, a panic and its backtrace's decode command", () => {
  expect(render("rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", false)).toEqual([
    "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
    "    board reset: POWERON_RESET",
  ]);
  expect(kindOf("ets Jun  8 2016 00:22:57")).toBe("boot");
  // ESP-IDF colours its own lines; the monitor colours them by their level instead.
  expect(render("\x1b[0;31mE (1234) wifi: something failed\x1b[0m", true)).toEqual([
    "\x1b[1;31mE (1234) wifi: something failed\x1b[0m\x1b[0m",
  ]);
  expect(kindOf("I (312) cpu_start: Starting scheduler")).toBe("idf");
  const panic = "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.";
  expect(render(panic, true)).toEqual([`\x1b[1;37;41m${panic}\x1b[0m`]);
  const backtrace = "Backtrace: 0x400d1a2b:0x3ffb1f50 0x400d2c3d:0x3ffb1f70 0x40088e95:0x3ffb1f90";
  expect(backtraceAddresses(backtrace)).toEqual(["0x400d1a2b", "0x400d2c3d", "0x40088e95"]);
  expect(render(backtrace, { colour: false, elf: "build/xs_esp32.elf" })).toEqual([
    backtrace,
    "    decode: xtensa-esp32-elf-addr2line -pfiaC -e build/xs_esp32.elf 0x400d1a2b 0x400d2c3d 0x40088e95",
  ]);
  expect(render(backtrace, false)[1]).toMatch(/give --elf FILE/);
  expect(kindOf("abort() was called at PC 0x400d1a2b on core 0")).toBe("panic");
});

test("filters: by level (Tether's and ESP-IDF's letters) and by area; console output and panics always shown", () => {
  const lines = [
    "10 I app boot platform=esp32",
    "20 W diag tcp_refused broker=x",
    "30 D keepalive pong rtt=3",
    "40 E mqtt fault in=x",
    "| state=connected",
    "W (50) wifi: beacon timeout",
    "I (60) wifi: connected",
    "Guru Meditation Error: Core  0 panic'ed (LoadProhibited).",
  ];
  const warn = { level: parseLevel("W") };
  expect(lines.filter((line) => shown(line, warn))).toEqual([lines[1], lines[3], lines[4], lines[5], lines[7]]);
  const diag = { areas: new Set(["diag", "app"]) };
  expect(lines.filter((line) => shown(line, diag))).toEqual([lines[0], lines[1], ...lines.slice(4)]);
  expect([parseLevel("warn"), parseLevel("e"), parseLevel("trace"), parseLevel("loud")]).toEqual([1, 0, 4, undefined]);
});

test("--reset: the board is reset as esptool does it (EN low through RTS, GPIO0 high), then let run", async () => {
  const calls: { dtr?: boolean; rts?: boolean }[] = [];
  await resetSequence({ set: async (options) => void calls.push(options) }, 1);
  expect(calls).toEqual([
    { dtr: false, rts: true },
    { dtr: false, rts: false },
  ]);
});

/**
 * A pseudo-terminal for the monitor whose far end is socat's standard input and output: the board's UART, which
 * takes what is sent from the moment the port exists (a pty's other end, opened later, would flush it).
 */
async function boardOnPty(host: string) {
  const socat = spawn(SOCAT, ["-d", "-d", `pty,raw,echo=0,link=${host}`, "STDIO"]);
  let [log, received] = ["", ""];
  socat.stderr!.on("data", (chunk) => (log += chunk));
  socat.stdout!.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  await untilOutput(socat.stderr!, () => log, /starting data transfer loop/);
  return { socat, received: () => received, send: (text: string) => socat.stdin!.write(text) };
}

test("on a pseudo-terminal: the port removed and restored is reopened, typed lines kept, filters, Ctrl-C", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-monitor-"));
  const host = join(dir, "ttyHOST");
  let board = await boardOnPty(host);
  let monitor: ChildProcess | undefined;
  try {
    monitor = spawn(
      process.execPath,
      ["scripts/run-ts.mjs", "tools/monitor.ts", host, "--level", "W", "--area", "diag,mqtt", "-t"],
      { stdio: ["pipe", "pipe", "pipe"], detached: true },
    );
    let [shown, said] = ["", ""];
    monitor.stdout!.on("data", (chunk) => (shown += chunk));
    monitor.stderr!.on("data", (chunk) => (said += chunk));
    await untilOutput(monitor.stderr!, () => said, /monitor: .* at 115200 baud/);
    board.send("100 I app boot platform=esp32\r\n120 W diag tcp_refused broker=x\r\n130 W keepalive tuned x=1\r\n");
    await untilOutput(monitor.stdout!, () => shown, /diag tcp_refused/);
    // Filtered: the info line and the keepalive area are not shown; each shown line has this computer's time.
    expect(shown).toMatch(/^\d\d:\d\d:\d\d\.\d{3} 120 W diag tcp_refused broker=x$/m);
    expect(shown).not.toMatch(/app boot|keepalive tuned/);

    // The port goes away (the USB bridge unplugged): said once, and a line typed meanwhile is kept.
    board.socat.kill();
    await untilOutput(monitor.stderr!, () => said, /ttyHOST gone.*reopening it when it is back/);
    monitor.stdin!.write("status\n");
    await untilOutput(monitor.stderr!, () => said, /ttyHOST is away: line kept until it is back \(1 kept\)/);
    board = await boardOnPty(host);
    await untilOutput(monitor.stderr!, () => said, /ttyHOST is back, reopened; sending 1 line\(s\) typed meanwhile/);
    await until(() => board.received().includes("status\r\n"), "the kept line reaches the board", 10000);
    board.send("900 E mqtt fault in=x\r\n");
    await untilOutput(monitor.stdout!, () => shown, /900 E mqtt fault/);

    // Ctrl-C in its terminal (the whole process group): it ends at the first press.
    process.kill(-monitor.pid!, "SIGINT");
    expect(await new Promise((resolve) => monitor!.once("exit", (code) => resolve(code)))).toBe(0);
  } finally {
    if (monitor?.pid && monitor.exitCode === null) process.kill(-monitor.pid, "SIGKILL");
    board.socat.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}, 40000);
