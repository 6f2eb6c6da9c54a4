// `npm run fleet` for real, small: tens of Tether devices (the real Client on Node hosts, the firmware's settings
// and classifier) against a mosquitto the tool starts, through each scenario. The numbers the tool reports must
// agree with each other and with the broker's own count.
import { type FleetOptions, parseArgs } from "../../bench/fleet/cli";
import { settingsInEffect, shownUrl } from "../../bench/fleet/device-config";
import type { FleetResult } from "../../bench/fleet/result";
import { runFleet } from "../../bench/fleet/run";
import { describeMosquitto } from "../helpers/mosquitto";

const DEVICES = 30;

function options(over: Partial<FleetOptions>): FleetOptions & { client: "tether" } {
  const parsed = parseArgs(["--devices", String(DEVICES), "--scenario", "power-on"]);
  if (typeof parsed === "string") throw new Error(parsed);
  return { ...parsed, horizon: 20000, client: "tether", ...over };
}

/** Every device back, and the totals equal to the sum of the bins they were drawn from. */
function consistent(r: FleetResult): void {
  expect(r.devices).toBe(DEVICES);
  expect(r.reconnected.missing).toBe(0);
  expect(r.connectedFraction.at(-1)).toBe(1);
  expect(r.reconnected.p50!).toBeLessThanOrEqual(r.reconnected.p99!);
  expect(r.reconnected.p99!).toBeLessThanOrEqual(r.reconnected.p100!);
  expect(r.attemptsPerSecond.reduce((a, b) => a + b, 0)).toBe(r.totals.attempts);
  expect(r.atBrokerPerSecond!.reduce((a, b) => a + b, 0)).toBe(r.totals.atBroker);
  expect(r.peakPerSecond.attempts).toBe(Math.max(...r.attemptsPerSecond));
}

/**
 * The broker's count against the clients': mosquitto logged every attempt it answered, and only attempts that got
 * through. Around a stop the kernel may still complete handshakes that the stopping mosquitto never accepts (the
 * client then sees a reset, not a refusal): how many depends on how long the stop takes, so the clients' two counts
 * bound the broker's, with no allowance.
 */
function agree(r: FleetResult): void {
  expect(r.totals.answeredByClients!).toBeLessThanOrEqual(r.totals.atBroker!);
  expect(r.totals.atBroker!).toBeLessThanOrEqual(r.totals.reachedByClients!);
}

const log = () => {};

describeMosquitto("a real fleet against mosquitto", () => {
  test("power-on: every device connects once, within the spread; the broker counts the same attempts", async () => {
    const r = await runFleet(options({ overrides: { backoffSpread: "2000" } }), log);
    consistent(r);
    expect(r.totals).toEqual({
      attempts: DEVICES,
      atBroker: DEVICES,
      reachedByClients: DEVICES,
      answeredByClients: DEVICES,
    });
    // How soon they are back is the policy's (its delays, on a virtual clock, in policy.test.ts): timed here on the
    // host's clock, it would be the machine's load. Spread: not every device in the same second.
    expect(r.peakPerSecond.atBroker!).toBeLessThan(DEVICES);
  });

  test("broker restart: all back; the broker accepted exactly the attempts the clients did not see refused", async () => {
    const r = await runFleet(
      options({ scenario: "broker-restart", outage: 1500, overrides: { backoffSpread: "2000", backoffBase: "300" } }),
      log,
    );
    consistent(r);
    agree(r);
    // Each device dialled at least once while the broker was down (refused), then once more to get back.
    expect(r.totals.attempts).toBeGreaterThan(r.totals.atBroker!);
    expect(r.totals.atBroker).toBeGreaterThanOrEqual(DEVICES);
  });

  test("auth outage: refused at the cap's pace, then all back within the cap; every attempt reached the broker", async () => {
    const r = await runFleet(
      options({ scenario: "auth-outage", outage: 2000, overrides: { backoffCap: "2000", backoffSpread: "1000" } }),
      log,
    );
    consistent(r);
    agree(r);
    // Refused only in the moment between the broker's stop and its start.
    expect(r.totals.attempts - r.totals.atBroker!).toBeLessThan(DEVICES);
    // The first retry after the restart, one every 1..2 s while refused (2 s), one to get back: about 3 each.
    expect(r.totals.attempts).toBeGreaterThanOrEqual(2 * DEVICES);
    expect(r.totals.attempts).toBeLessThanOrEqual(5 * DEVICES);
  });
});

describe("the command line", () => {
  test.each([
    [[], /^--devices N is required$/],
    [["--devices", "10"], /^--scenario is required$/],
    [["--devices", "ten", "--scenario", "power-on"], /^--devices ten: must be a number/],
    [
      ["--devices", "10", "--scenario", "flood"],
      /^--scenario flood: must be one of broker-restart\|auth-outage\|power-on$/,
    ],
    [["--devices", "10", "--scenario", "power-on", "--set", "keepAlive=0"], /^keepAlive=0: must be a whole number/],
    [["--devices", "10", "--scenario", "power-on", "--set", "nonsense"], /^--set nonsense: must be key=value$/],
    [["--devices", "10", "--scenario", "auth-outage", "--broker", "mqtt://x:1883"], /needs a broker the tool controls/],
    [["--devices", "9000", "--scenario", "power-on"], /use --simulate$/],
    [["--devices", "10", "--scenario", "power-on", "--compare", "paho"], /only mqttjs/],
  ])("%j is refused in one line", (args, message) => {
    let error: unknown;
    try {
      parseArgs(args);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  test("defaults: the outage by scenario, 100,000 simulated devices allowed", () => {
    expect(parseArgs(["--devices", "5", "--scenario", "broker-restart"])).toMatchObject({ outage: 20000 });
    expect(parseArgs(["--devices", "5", "--scenario", "auth-outage"])).toMatchObject({ outage: 60000 });
    expect(parseArgs(["--devices", "100000", "--scenario", "power-on", "--simulate", "--admit", "2000"])).toMatchObject(
      { devices: 100000, simulate: true, admit: 2000 },
    );
  });
});

describe("what a result shows", () => {
  test("secrets are masked, the backoff in effect is named", () => {
    expect(settingsInEffect({ mqttPassword: "hunter2", mqttUser: "u", backoffCap: "60000" })).toEqual({
      backoffBase: "1000",
      backoffCap: "60000",
      backoffSpread: "15000",
      backoffStable: "60000",
      mqttPassword: "***",
      mqttUser: "u",
    });
    expect(shownUrl("mqtt://alice:secret@broker.example:1883")).toBe("mqtt://***@broker.example:1883");
    expect(shownUrl("mqtts://broker.example:8883")).toBe("mqtts://broker.example:8883");
  });
});
