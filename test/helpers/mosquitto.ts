// A real mosquitto broker for a test (hosts/sim/node/mosquitto.ts starts it). Where mosquitto is not installed,
// describeMosquitto / mosquittoTest skip and say so in the test name; with TETHER_REQUIRE_MOSQUITTO=1 (CI) a
// missing mosquitto fails instead.

import { MISSING, MOSQUITTO } from "../../hosts/sim/node/mosquitto";

export {
  freePort,
  MOSQUITTO,
  type Mosquitto,
  type MosquittoOptions,
  startMosquitto,
} from "../../hosts/sim/node/mosquitto";

const REQUIRED = process.env.TETHER_REQUIRE_MOSQUITTO === "1";

/** `describe` for tests that need mosquitto. */
export function describeMosquitto(name: string, body: () => void): void {
  if (MOSQUITTO) describe(name, body);
  else if (REQUIRED) describe(name, () => test("mosquitto is installed", () => fail()));
  else describe.skip(`${name} (skipped: ${MISSING})`, body);
}

/** `test` for a test that needs mosquitto. */
export function mosquittoTest(name: string, body: () => Promise<unknown>, timeout?: number): void {
  if (MOSQUITTO) test(name, body, timeout);
  else if (REQUIRED) test(name, () => fail(), timeout);
  else test.skip(`${name} (skipped: ${MISSING})`, body, timeout);
}

function fail(): never {
  throw new Error(`${MISSING}, and TETHER_REQUIRE_MOSQUITTO=1 requires it`);
}
