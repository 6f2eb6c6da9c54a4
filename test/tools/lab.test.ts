// Every fault lab scenario, run as `npm run lab -- <name>` runs it (without a user typing): the failure is built for
// real around the firmware in the simulator, and the device must name it.

import { misnamed, runScenario, unnamed } from "../../tools/lab/run";
import { missing, SCENARIOS } from "../../tools/lab/scenarios";
import { failureLines, summarize } from "../../tools/lab/summary";

describe("fault lab scenarios", () => {
  test.concurrent.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
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
      expect(summary).toContain(`Diagnosis: ${scenario.expect.join(" and ")}, as expected.`);
      // The summary quotes the device's own line for each expected code, with its line number.
      const lines = failureLines(outcome.output.get("device")!);
      for (const code of scenario.expect) {
        const line = lines.find((l) => l.code === code)!;
        expect(summary).toContain(`line ${line.number}: ${line.text}`);
      }
    },
    90000,
  );
});
