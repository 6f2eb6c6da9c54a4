// Every fault lab scenario, run as `npm run lab -- <name>` runs it (without a user typing): the failure is built for
// real around the firmware in the simulator, and the device must name it.

import { Lab } from "../../tools/lab/lab";
import { diagnosis, misnamed, runScenario, unnamed } from "../../tools/lab/run";
import { findScenario, missing, SCENARIOS } from "../../tools/lab/scenarios";
import { failureLines, summarize } from "../../tools/lab/summary";

/** Scenarios whose device is connected again when the diagnosis is in. */
const ENDS_CONNECTED = ["broker-restart", "half-open", "nat-idle"];

describe("fault lab scenarios", () => {
  // One at a time: a scenario's lazy requires (MQTT.js loads its transport at the first connect) then happen inside
  // a running test (jest refuses them between concurrent ones: "a file outside of the scope of the test code"), and
  // ten simulated devices and their brokers at once made every scenario's timing worse on a busy machine.
  test.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
    "%s: the device names the failure",
    async (_, scenario) => {
      const lacking = missing(scenario);
      // CI installs mosquitto and openssl; a machine without them cannot build these failures.
      if (lacking && process.env.TETHER_REQUIRE_MOSQUITTO !== "1") {
        expect((await runScenario(scenario)).error).toBe(lacking);
        return;
      }
      const outcome = await runScenario(scenario);
      const summary = summarize(outcome).join("\n");
      // Named what the scenario builds, and nothing that does not fit it.
      expect({ error: outcome.error, unnamed: unnamed(outcome), misnamed: misnamed(outcome) }).toEqual({
        error: undefined,
        unnamed: [],
        misnamed: [],
      });
      const found = diagnosis(scenario.expect, outcome.codes);
      expect(found).toHaveLength(scenario.expect.length);
      expect(summary).toContain(`Diagnosis: ${found.join(" and ")}, as expected.`);
      // The summary quotes the device's own line for each expected code, with its line number.
      const lines = failureLines(outcome.output.get("device")!);
      for (const code of found) {
        const line = lines.find((l) => l.code === code)!;
        expect(summary).toContain(`line ${line.number}: ${line.text}`);
      }
      // The lab stops the devices before the brokers: a device connected at the end says goodbye, and its log does
      // not end with a failure the teardown caused (a broker_closed the report would count).
      const output = outcome.output.get("device")!;
      if (ENDS_CONNECTED.includes(scenario.name)) {
        expect(failureLines(output.slice(output.lastIndexOf(" I mqtt connected ")))).toEqual([]);
        expect(output).toMatch(/ I mqtt closed reason=shutdown\n\d+ I app shutdown\n$/);
      }
      if (scenario.name === "nat-idle") expect(summary).toMatch(/the keep alive is 1 s and the link holds/);
    },
    90000,
  );
});

test("stats after one broker drop add up: every attempt accepted or failed, the drop counted as a lost connection", async () => {
  const lab = new Lab();
  try {
    const broker = await lab.broker();
    const device = await lab.boot("device", { broker: broker.url, clientId: `lab-stats-${process.pid % 10000}` });
    await device.waitForLine(/ I mqtt connected /);
    await broker.stop();
    // A close, or a reset when the broker stopped with a packet of the device's unread: a drop either way.
    await device.waitForCode(["broker_closed", "tcp_reset"]);
    await device.waitForCode("tcp_refused");
    const from = device.output.length;
    await broker.start();
    await device.waitForLine(/ I mqtt connected /, 15000, from);
    const [conn] = await lab.type(device, "stats", /^heap used=/);
    const [, attempts, ok, failed, lost] = /^conn attempts=(\d+) ok=(\d+) failed=(\d+) lost=(\d+) /
      .exec(conn!)!
      .map(Number);
    // It was `attempts=3 ok=2 failed=2`: the drop was counted as a failed attempt too.
    expect({ ok, lost, sum: ok! + failed! }).toEqual({ ok: 2, lost: 1, sum: attempts });
    expect(failed).toBeGreaterThanOrEqual(1);
  } finally {
    await lab.close();
  }
}, 40000);

test("an expectation of either code is met by one of them, and named as the device named it", () => {
  const scenario = findScenario("broker-restart")!;
  const outcome = (codes: string[]) => ({ scenario, output: new Map([["device", ""]]), notes: [], codes });
  // Closed, or reset when the broker stopped with the device's last packet unread: either is the restart.
  expect(summarize(outcome(["broker_closed", "tcp_refused"]))).toContain("Diagnosis: broker_closed, as expected.");
  expect(summarize(outcome(["tcp_reset", "tcp_refused"]))).toContain("Diagnosis: tcp_reset, as expected.");
  expect(summarize(outcome(["tcp_refused"]))).toContain(
    "Diagnosis: expected broker_closed or tcp_reset, the device named tcp_refused.",
  );
  expect(misnamed(outcome(["broker_closed", "keepalive_timeout"]))).toEqual(["keepalive_timeout"]);
});
