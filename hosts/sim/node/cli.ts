// The command line of `npm start`: options to firmware settings. Kept apart from start.ts so tests can call it.
// Every setting can be given, as `--set key=value` or as its own option (`--keep-alive-min 5`), and every value is
// checked by the firmware's own rules (the ones `config set` applies) before the device starts: a mistake is one
// line on stderr and exit code 2, never a device that boots into a configuration error.

import { accessSync, constants } from "node:fs";
import { checkSetting, SETTINGS, Settings } from "tether/app/settings";
import { parseBrokers } from "tether/client/broker";

/** Options that predate the generated ones, kept as they were: option name to setting key. */
const ALIASES: Record<string, string> = {
  "--client-id": "clientId",
  "--user": "mqttUser",
  "--password": "mqttPassword",
  "--keepalive": "keepAlive",
  "--ca": "brokerCa",
};

/** `keepAliveMin` -> `--keep-alive-min`. */
function optionName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Option name to setting key: one option per setting, then the aliases (which win: `--password` is MQTT's). */
const OPTIONS: Record<string, string> = {
  ...Object.fromEntries(SETTINGS.map((spec) => [optionName(spec.key), spec.key])),
  ...ALIASES,
};

const settingLines = SETTINGS.map((spec) => {
  const own = optionName(spec.key);
  // A setting whose own option an alias took (the Wi-Fi password) is reached with --set.
  const option = OPTIONS[own] === spec.key ? own : `--set ${spec.key}=`;
  const range = spec.choices
    ? ` (${spec.choices.join("|")})`
    : spec.min !== undefined
      ? ` (${spec.min}..${spec.max})`
      : "";
  // Without --broker the simulator starts its own broker: the firmware's default does not apply.
  const value = spec.value && !spec.secret && spec.key !== "broker" ? `, default ${spec.value}` : "";
  return `  ${option.padEnd(22)}${spec.help}${range}${value}`;
});

export const USAGE = `usage: npm start -- [options]
Runs the Tether firmware in the XS engine on this computer; this terminal is its serial console.
Without --broker, an embedded MQTT broker (aedes) starts on a free 127.0.0.1 port.

  --set KEY=VALUE       any setting below by its key (repeatable), e.g. --set keepAliveMin=5
  --client-id ID        same as --set clientId=ID
  --user USER           same as --set mqttUser=USER
  --password PASSWORD   same as --set mqttPassword=PASSWORD
  --keepalive SECONDS   same as --set keepAlive=SECONDS
  --ca FILE             same as --set brokerCa=FILE: the PEM file of the CA that signed an mqtts:// or wss:// broker
  --storage FILE        JSON file holding the device's storage across runs (default: in memory)
  --help                this text

Every setting also has an option of its own (--name VALUE or --name=VALUE); values are checked as \`config set\`
checks them:
${settingLines.join("\n")}

Lines typed here go to the device's serial input. Ctrl-C or end of input: the device says goodbye to the broker
(DISCONNECT), then the simulator exits.
`;

/** A mistake on the command line; the message is one line, naming what was wrong. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface CliOptions {
  help: boolean;
  /** Firmware settings from the options. */
  config: Record<string, string>;
  storage?: string;
}

/** A storage with nothing saved: the settings are the defaults and the command line. */
const NOTHING_SAVED = {
  readSetting: () => undefined,
  writeSetting: () => {},
};

/** Parses `--name value` and `--name=value`; throws UsageError. */
export function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = { help: false, config: {} };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === "--help" || argument === "-h") {
      options.help = true;
      continue;
    }
    const equals = argument.indexOf("=");
    const name = equals > 0 ? argument.slice(0, equals) : argument;
    const key = name === "--set" || name === "--storage" ? name : OPTIONS[name];
    if (!key) throw new UsageError(argument.startsWith("-") ? `unknown option ${name}` : `unexpected argument ${name}`);
    const value = equals > 0 ? argument.slice(equals + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option ${name} needs a value`);
    if (key === "--storage") options.storage = value;
    else if (key === "--set") {
      const at = value.indexOf("=");
      if (at <= 0) throw new UsageError(`--set needs KEY=VALUE, not ${value || "(empty)"}`);
      options.config[value.slice(0, at)] = value.slice(at + 1);
    } else options.config[key] = value;
  }
  const problem = check(options.config);
  if (problem) throw new UsageError(problem);
  return options;
}

/** The first thing wrong with the settings, by the firmware's rules, or undefined. */
function check(config: Record<string, string>): string | undefined {
  // Each value as `config set` checks it, in command-line order; then what involves several (backoffCap).
  for (const key in config) {
    const error = checkSetting(key, config[key]);
    if (error) return error;
  }
  const [error] = new Settings(config, NOTHING_SAVED).errors();
  if (error) return error;
  // The broker list as the firmware reads it at start.
  if (config.broker !== undefined) {
    const brokers = parseBrokers(config.broker);
    if (typeof brokers === "string") return brokers;
  }
  // In the simulator the CA is a file: a missing one is a mistake on this command line, not a TLS failure later.
  if (config.brokerCa) {
    try {
      accessSync(config.brokerCa, constants.R_OK);
    } catch (error) {
      return `brokerCa=${config.brokerCa}: cannot read the file (${(error as NodeJS.ErrnoException).code})`;
    }
  }
  return undefined;
}
