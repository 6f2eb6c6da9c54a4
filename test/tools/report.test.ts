// `npm run report`: a serial log read back (readSession), and a real fault run's log turned into a page that headless
// Chromium loads, runs and renders with its charts.

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimDevice } from "../../hosts/sim/node/device";
import { runScenario } from "../../tools/lab/run";
import { findScenario } from "../../tools/lab/scenarios";
import { codeColours, renderReport } from "../../tools/report/html";
import { failuresByCode, readSession } from "../../tools/report/session";
import { verdict } from "../../tools/report/verdict";
import { CHROMIUM, chromium } from "../../tools/rigs/chromium";
import { Probe } from "../../tools/rigs/probe";
import { mosquittoTest, startMosquitto } from "../helpers/mosquitto";

const dir = mkdtempSync(join(tmpdir(), "tether-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOG = `boot loader noise
100 I app boot platform=esp32 client_id=d1 boot=1
120 I mqtt connecting broker=mqtt://10.0.0.5:1883 attempt=1 total=1
180 I mqtt connected session=new keepalive=60 rtt=58 n=1
900 I mqtt message topic=a/b qos=1 bytes=300
| uptime_ms=950 heap_used=41200 heap_peak=50000
5000 W diag tcp_reset broker=10.0.0.5:1883 error=reset uptime=4820 idle=4000 hint="x"
5002 I mqtt retry in_ms=950 reason="tcp_reset: attempt 1"
5003 W keepalive tuned change="keep alive 60 -> 45 s: ..."
40 I app boot platform=esp32 client_id=d1 boot=2
70 I mqtt connected session=resumed keepalive=45 rtt=61 n=1
2000 W diag tcp_reset ... 3 similar suppressed
| heap used=42000 peak=50000
`;

test("readSession: periods across a reboot, failures with repeats, delays, round trips, keep alive, traffic, heap", () => {
  const session = readSession(LOG);
  expect(session).toMatchObject({ lines: 13, logLines: 10, boots: 2, span: 7003 });
  // After the reboot, time runs on from the last line before it (5003 ms).
  expect(session.periods).toEqual([
    { t: 180, line: 4, end: 5000, endedBy: "tcp_reset" },
    { t: 5073, line: 11, end: 7003, endedBy: "still up" },
  ]);
  expect(session.failures.map((f) => [f.code, f.line, f.repeats])).toEqual([
    ["tcp_reset", 7, 1],
    ["tcp_reset", 12, 3],
  ]);
  expect(session.retries.map((s) => s.value)).toEqual([950]);
  expect(session.rtts.map((s) => s.value)).toEqual([58, 61]);
  expect(session.keepAlive.map((s) => s.value)).toEqual([60, 45, 45]);
  expect(session.traffic.map((s) => s.value)).toEqual([300]);
  // A status reply has its own uptime; a stats reply takes the last log line's.
  expect(session.heap.map((s) => [s.line, s.t, s.value])).toEqual([
    [6, 950, 41200],
    [13, 7003, 42000],
  ]);
  expect(verdict(session)).toMatchObject({ code: "tcp_reset", evidence: [expect.objectContaining({ line: 7 })] });
});

test("a broker restart run's log becomes a page Chromium renders: verdict, timeline, charts, failures by code", async () => {
  const outcome = await runScenario(findScenario("broker-restart")!);
  expect(outcome.error).toBeUndefined();
  const log = join(dir, "restart.log");
  writeFileSync(log, outcome.output.get("device")!);
  // Through the command line, as a user runs it.
  const page = join(dir, "restart.html");
  execFileSync(process.execPath, ["scripts/run-ts.mjs", "tools/report.ts", log, "-o", page], { stdio: "pipe" });
  const html = readFileSync(page, "utf8");
  // Self-contained: nothing to fetch.
  expect(/<(script|link|img|iframe)[^>]+(src|href)=/.test(html)).toBe(false);
  const dom = await chromium(page, ["--dump-dom", "--virtual-time-budget=5000"]);
  // uPlot ran: the three charts this log has figures for (reconnect delays, round trips, keep alive) are drawn.
  expect(dom).toMatch(/<body data-charts="3"/);
  expect(dom.match(/class="uplot/g)).toHaveLength(3);
  expect(dom).toContain("Traffic: no such lines in this log (received messages show at log level info;");
  const session = readSession(outcome.output.get("device")!);
  // The stop ended the first connection: closed, or reset when mosquitto stopped with a packet of the device's unread.
  const ended = session.periods[0]!.endedBy;
  expect(["broker_closed", "tcp_reset"]).toContain(ended);
  expect(dom).toContain(`Most likely: ${ended} (${ended === "tcp_reset" ? "tcp" : "mqtt"} layer)`);
  expect(dom.match(/class="up"/g)).toHaveLength(session.periods.length);
  expect(dom.match(/class="fail"/g)).toHaveLength(session.failures.length);
  expect(session.periods.length).toBeGreaterThanOrEqual(2);
  expect(dom).toContain(`<code>${ended}</code>`);
  expect(renderReport(session, verdict(session), "restart.log")).toContain("<h1>Tether session report</h1>");
}, 60000);

test("bad input gets one clear line: a missing file, a file with no log lines, a wrong option", () => {
  const report = (...args: string[]) =>
    spawnSync(process.execPath, ["scripts/run-ts.mjs", "tools/report.ts", ...args], { encoding: "utf8" });
  const noise = join(dir, "noise.log");
  writeFileSync(noise, "ets Jun  8 2016 00:22:57\nrst:0x1 (POWERON_RESET)\n");
  expect(report(join(dir, "absent.log"))).toMatchObject({
    status: 1,
    stderr: `report: cannot read ${join(dir, "absent.log")}: ENOENT\n`,
  });
  expect(report(noise)).toMatchObject({
    status: 1,
    stderr: `report: ${noise} has no Tether log lines (<uptime> <E|W|I|D|T> <area> <event> ...)\n`,
  });
  expect(report(noise, "--pdf")).toMatchObject({ status: 2, stderr: "report: unknown option --pdf (see --help)\n" });
});

/** A log with two boots and the device's own counts, as a board reset mid-session writes it. */
const REBOOTS = `100 I app boot platform=esp32 client_id=d2 boot=1
180 I mqtt connected session=new keepalive=60 rtt=58 n=1
| uptime_ms=900 heap_used=41200 heap_peak=50000
4990 W diag broker_closed broker=10.0.0.5:1883 error=closed uptime=4810 idle=100 hint="x"
5000 E diag bad_credentials broker=10.0.0.5:1883 reason="0x05 Connection Refused, not authorized" user=set hint="x"
5001 I mqtt retry in_ms=1000 reason="bad_credentials: attempt 1"
6000 E diag bad_credentials broker=10.0.0.5:1883 reason="0x05 Connection Refused, not authorized" user=set hint="x"
16000 E diag bad_credentials ... 5 similar suppressed
| failures bad_credentials=9
rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)
50 I app boot platform=esp32 client_id=d2 boot=2
90 I mqtt connected session=resumed keepalive=45 rtt=61 n=1
95 I mqtt message topic=a qos=0 bytes=12 payload="{\\"heap\\":40000}"
3000 W keepalive tuned change="keep alive 45 -> 30 s: x"
`;

test("reboots: each boot marked, no line across it, repeats coalesced, the device's own counts beside the report's", () => {
  const session = readSession(REBOOTS);
  // A boot starts at uptime 0; the ROM's reset line, before the firmware's boot line, is where it shows.
  expect(session.bootsAt).toEqual([
    { t: 0, line: 1 },
    { t: 16000, line: 10 },
  ]);
  expect(session.events.map((e) => [e.kind, e.code, e.count])).toEqual([
    ["boot", undefined, 1],
    ["connected", undefined, 1],
    ["failure", "broker_closed", 1],
    ["failure", "bad_credentials", 7],
    ["boot", undefined, 1],
    ["connected", undefined, 1],
    ["tuned", undefined, 1],
  ]);
  expect(session.deviceCounts).toEqual({ line: 9, counts: { bad_credentials: 9 } });
  // Heap from every line that carries it: a status reply and a message's JSON.
  expect(session.heap.map((s) => [s.line, s.value])).toEqual([
    [3, 41200],
    [13, 40000],
  ]);
  const page = renderReport(session, verdict(session), "reboots.log");
  // The keep-alive step stops at the reboot: a null point at the boot's time (16 s), then the new boot's value.
  const data = JSON.parse(/<script id="data" type="application\/json">(.*?)<\/script>/s.exec(page)![1]!);
  const keepAlive = data.charts.find((c: { id: string }) => c.id === "keepalive");
  expect(keepAlive.x).toEqual([0.18, 16, 16, 16.09, 19, 19]);
  expect(keepAlive.y).toEqual([60, 60, null, 45, 45, 30]);
  expect(data.boots).toEqual([0, 16]);
  // Markdown in the causes is shown as code, never as backticks.
  expect(page).toContain("<code>mqttPassword</code>");
  expect(page).not.toMatch(/<li>[^<]*`/);
});

test("lines the serial budget held back count in the failures by code, as the device counted them", () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-report-"));
  try {
    const log = join(dir, "held.log");
    writeFileSync(
      log,
      [
        "100 I app boot platform=esp32 client_id=a boot=1",
        '200 E diag bad_credentials broker=10.0.0.5:1883 reason="0x05" hint="x"',
        "10200 I log held_back lines=45 codes=diag.bad_credentials:30,mqtt.connecting:15 ms=10000 budget=20",
        "",
      ].join("\n"),
    );
    const byCode = failuresByCode(readSession(readFileSync(log, "utf8")));
    expect(byCode.map(({ code, count }) => [code, count])).toEqual([["bad_credentials", 31]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("colours by severity: errors in reds, warnings in oranges, every code in a report a colour of its own", () => {
  const colours = codeColours(["bad_credentials", "tls_failed", "tcp_reset", "broker_closed", "keepalive_timeout"]);
  expect(new Set(colours.values()).size).toBe(5);
  expect(colours.get("bad_credentials")).toBe("#d62728");
  expect(colours.get("tls_failed")).toBe("#9e0142");
  expect(colours.get("tcp_reset")).toBe("#ff7f0e");
  expect(colours.get("broker_closed")).toBe("#a6761d");
});

(CHROMIUM ? test : test.skip)(
  "a log with a reboot, in Chromium: boot markers, broken lines, the event table; a screenshot for the docs",
  async () => {
    const log = join(dir, "reboots.log");
    writeFileSync(log, REBOOTS);
    const page = join(dir, "reboots.html");
    execFileSync(process.execPath, ["scripts/run-ts.mjs", "tools/report.ts", log, "-o", page], { stdio: "pipe" });
    const dom = await chromium(page, ["--dump-dom", "--virtual-time-budget=5000"]);
    expect(dom).toMatch(/<body data-charts="5"/);
    expect(dom.match(/<div class="boot"/g)).toHaveLength(2);
    expect(dom).toContain("boot 2");
    // The legend says what the figures are, with no cursor on the chart.
    expect(dom).toContain("n=3, min 30 s, median 45 s, max 60 s, last 30 s");
    expect(dom).toMatch(/bad_credentials <b>×7<\/b> until 16 s/);
    expect(dom).toMatch(/the device counted<\/th>/);
    expect(dom).toMatch(/<td class="differs"[^>]*>9<\/td>/);
    const shot = join(dir, "reboots.png");
    await chromium(page, [`--screenshot=${shot}`, "--window-size=1100,1500", "--virtual-time-budget=5000"]);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");
    if (process.env.TETHER_UPDATE_DOCS === "1") copyFileSync(shot, "docs/report-reboot.png");
  },
  60000,
);

mosquittoTest(
  "the report counts what the device counted: copies held back by the rate limit are told before it stops",
  async () => {
    const broker = await startMosquitto({ users: { alice: "correct-horse" } });
    const device = await SimDevice.start({
      config: {
        broker: broker.url,
        clientId: `report-counts-${process.pid % 10000}`,
        mqttUser: "alice",
        mqttPassword: "not-it",
        backoffBase: "100",
        backoffCap: "400",
        backoffSpread: "0",
        beaconInterval: "0",
      },
    });
    try {
      const probe = new Probe(device);
      // Refusals faster than the log's 10 s window: after the first, copies are held back and counted.
      const refusals = async () => {
        const lines = await probe.command("stats", /^heap /);
        return Number(/bad_credentials=(\d+)/.exec(lines.find((l) => l.startsWith("failures")) ?? "")?.[1] ?? 0);
      };
      for (let tries = 0; (await refusals()) < 4; tries++) {
        if (tries > 200) throw new Error("fewer than four refusals");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // No more attempts: the link goes down, so the device's count and the log's stop together.
      device.setLink(false);
      await probe.command("stats", /^heap /);
      await device.shutdown();
      const session = readSession(probe.output);
      const counted = session.deviceCounts!.counts.bad_credentials!;
      expect(counted).toBeGreaterThanOrEqual(4);
      expect(probe.output).toMatch(
        / E diag bad_credentials \.\.\. \d+ similar suppressed\n(?:.*\n)*?\d+ I app shutdown/,
      );
      expect(failuresByCode(session).find((e) => e.code === "bad_credentials")!.count).toBe(counted);
    } finally {
      await device.kill();
      await broker.stop();
    }
  },
  40000,
);
