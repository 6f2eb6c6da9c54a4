// `npm run fleet`: a fleet of Tether devices against one broker, through a restart, an auth outage or a power-on,
// measured (or simulated), with a JSON result and an SVG chart; see docs/fleet.md. A mistake on the command line
// is one line on stderr and exit code 2.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cryptoSeed } from "../random";
import { type FleetOptions, parseArgs } from "./cli";
import { deviceConfig, settingsInEffect } from "./device-config";
import { chart, type FleetResult, textSummary } from "./result";
import { simulate } from "./simulate";

/** The devices' backoff, from the firmware's settings with the overrides. */
function backoffOf(overrides: Record<string, string>) {
  const config = deviceConfig({ broker: "mqtt://127.0.0.1:1883", clientId: "fleet" }, overrides);
  if (typeof config === "string") throw new Error(config);
  return config.backoff;
}

function save(o: FleetOptions, results: FleetResult[]): string[] {
  mkdirSync(o.out, { recursive: true });
  const outage = o.scenario === "power-on" ? "" : `-${o.outage / 1000}s`;
  const name = `${o.simulate ? "sim-" : ""}${o.scenario}-${o.devices}${outage}${o.admit ? `-admit${o.admit}` : ""}`;
  const json = join(o.out, `${name}.json`);
  const svg = join(o.out, `${name}.svg`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const down =
    o.scenario === "power-on" ? "" : `, ${o.outage / 1000} s ${o.scenario === "auth-outage" ? "refused" : "down"}`;
  const admit = o.admit ? `, broker admits ${o.admit}/s` : "";
  const title = `${o.scenario}, ${o.devices.toLocaleString("en")} devices${down}${admit}${o.simulate ? " (simulated)" : ""}`;
  writeFileSync(svg, chart(results, title));
  return [json, svg];
}

async function main(): Promise<void> {
  let o: FleetOptions | string;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`fleet: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (typeof o === "string") {
    process.stdout.write(`${o}\n`);
    return;
  }
  const results: FleetResult[] = [];
  if (o.simulate) {
    const backoff = backoffOf(o.overrides);
    const seed = cryptoSeed();
    for (const policy of o.compare ? (["tether", "mqttjs"] as const) : (["tether"] as const)) {
      const result = simulate({ ...o, backoff, policy, seed, settings: settingsInEffect(o.overrides) });
      results.push(result);
      process.stdout.write(`${textSummary(result)}\n`);
    }
  } else {
    const { runFleet } = await import("./run");
    for (const client of o.compare ? (["tether", "mqttjs"] as const) : (["tether"] as const)) {
      const result = await runFleet({ ...o, client }, (line) => process.stdout.write(`${line}\n`));
      results.push(result);
      process.stdout.write(`${textSummary(result)}\n`);
    }
  }
  for (const file of save(o, results)) process.stdout.write(`wrote ${file}\n`);
}

main().catch((error) => {
  process.stderr.write(`fleet: ${(error as Error).message}\n`);
  process.exit(1);
});
