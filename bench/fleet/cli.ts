// The command line of `npm run fleet` (bench/fleet/fleet.ts runs it).
import { checkOverrides } from "./device-config";
import { SCENARIOS, type Scenario } from "./result";

export const USAGE = `usage: npm run fleet -- --devices N --scenario broker-restart|auth-outage|power-on [options]
  --broker URL|aedes  power-on only: a broker to use as it is, or the embedded aedes (default: a mosquitto the
                      tool starts; aedes when mosquitto is not installed)
  --set key=value     a firmware setting for every device (repeatable; checked as \`config set\` checks it)
  --compare mqttjs    the same run with MQTT.js 5 clients afterwards
  --outage S          seconds the broker is down (broker-restart, default 20) or refuses (auth-outage, default 60)
  --out DIR           where the JSON result and the SVG chart go (default build/fleet)
  --simulate          the real Backoff on a virtual clock (10,000 to 100,000 devices), no sockets
  --admit R           with --simulate: connections the broker admits per second (default 0: any number)
  --horizon S         give up this many seconds after the broker is back / the fix / power-on (default 300)`;

export interface FleetOptions {
  devices: number;
  scenario: Scenario;
  broker: string | undefined;
  overrides: Record<string, string>;
  compare: boolean;
  outage: number;
  out: string;
  simulate: boolean;
  admit: number;
  horizon: number;
}

/** The options, or the usage text for --help; throws an Error of one line for a mistake. */
export function parseArgs(args: readonly string[]): FleetOptions | string {
  const o: Partial<FleetOptions> & { overrides: Record<string, string> } = {
    overrides: {},
    compare: false,
    simulate: false,
    admit: 0,
    horizon: 300000,
    out: "build/fleet",
  };
  let outage: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const number = (min: number, max: number) => {
      const v = value();
      const n = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v) || n < min || n > max)
        throw new Error(`${arg} ${v}: must be a number from ${min} to ${max}`);
      return n;
    };
    switch (arg) {
      case "--devices":
        o.devices = number(1, 1000000);
        if (!Number.isInteger(o.devices)) throw new Error(`--devices ${o.devices}: must be a whole number`);
        break;
      case "--scenario": {
        const v = value();
        if (!SCENARIOS.includes(v as Scenario))
          throw new Error(`--scenario ${v}: must be one of ${SCENARIOS.join("|")}`);
        o.scenario = v as Scenario;
        break;
      }
      case "--broker":
        o.broker = value();
        break;
      case "--set": {
        const v = value();
        const eq = v.indexOf("=");
        if (eq < 1) throw new Error(`--set ${v}: must be key=value`);
        o.overrides[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case "--compare": {
        const v = value();
        if (v !== "mqttjs") throw new Error(`--compare ${v}: only mqttjs is known`);
        o.compare = true;
        break;
      }
      case "--outage":
        outage = number(0, 86400) * 1000;
        break;
      case "--out":
        o.out = value();
        break;
      case "--simulate":
        o.simulate = true;
        break;
      case "--admit":
        o.admit = number(0, 10000000);
        break;
      case "--horizon":
        o.horizon = number(1, 86400) * 1000;
        break;
      case "--help":
      case "-h":
        return USAGE;
      default:
        throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  if (o.devices === undefined) throw new Error("--devices N is required");
  if (o.scenario === undefined) throw new Error("--scenario is required");
  if (!o.simulate && o.devices > 5000)
    throw new Error(`--devices ${o.devices}: one process runs at most 5000; use --simulate`);
  if (o.broker !== undefined && o.scenario !== "power-on" && o.broker !== "aedes")
    throw new Error(`--scenario ${o.scenario} needs a broker the tool controls: leave out --broker`);
  if (o.broker === "aedes" && o.scenario !== "power-on")
    throw new Error(`--scenario ${o.scenario} needs mosquitto (the tool restarts it and changes its passwords)`);
  const error = checkOverrides(o.overrides);
  if (error) throw new Error(error);
  return { ...(o as FleetOptions), outage: outage ?? (o.scenario === "auth-outage" ? 60000 : 20000) };
}
