// The command line of `npm start`: options to firmware settings. Kept apart from start.ts so tests can call it.

export const USAGE = `usage: npm start -- [options]
Runs the Tether firmware in the XS engine on this computer; this terminal is its serial console.
Without --broker, an embedded MQTT broker (aedes) starts on a free 127.0.0.1 port.

  --broker URL          mqtt://host:port or mqtts://host:port, or a comma-separated list for failover
  --client-id ID        MQTT client identifier
  --user USER           MQTT user name
  --password PASSWORD   MQTT password
  --keepalive SECONDS   MQTT keep-alive
  --mqtt-version V      3.1.1 or 5
  --remote-commands L   commands allowed on tether/<id>/cmd, comma-separated (default status,stats,history,help;
                        empty: the remote console is off)
  --storage FILE        JSON file holding the device's storage across runs (default: in memory)
  --help                this text

Lines typed here go to the device's serial input. Ctrl-C or end of input: the device says goodbye to the broker
(DISCONNECT), then the simulator exits.
`;

/** Option name to setting key (see the firmware's settings); `storage` is the simulator's own. */
const OPTIONS: Record<string, string> = {
  "--broker": "broker",
  "--client-id": "clientId",
  "--user": "mqttUser",
  "--password": "mqttPassword",
  "--keepalive": "keepAlive",
  "--mqtt-version": "mqttVersion",
  "--remote-commands": "remoteCommands",
  "--storage": "storage",
};

const BROKER_URL = /^mqtts?:\/\/(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

const CHECKS: Record<string, (value: string) => string | undefined> = {
  broker(value) {
    for (const url of value.split(",")) {
      const match = BROKER_URL.exec(url.trim());
      if (!match || (match[1] !== undefined && !(Number(match[1]) >= 1 && Number(match[1]) <= 65535))) {
        return `malformed broker URL: ${url.trim() || "(empty)"} (expected mqtt://host:port or mqtts://host:port)`;
      }
    }
    return undefined;
  },
  keepAlive: (value) =>
    /^\d{1,5}$/.test(value) && Number(value) <= 65535 ? undefined : `keep-alive must be 0..65535 seconds: ${value}`,
  mqttVersion: (value) =>
    value === "3.1.1" || value === "5" ? undefined : `MQTT version must be 3.1.1 or 5: ${value}`,
};

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
    const key = OPTIONS[name];
    if (!key) throw new UsageError(argument.startsWith("-") ? `unknown option ${name}` : `unexpected argument ${name}`);
    const value = equals > 0 ? argument.slice(equals + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option ${name} needs a value`);
    const problem = CHECKS[key]?.(value);
    if (problem) throw new UsageError(problem);
    if (key === "storage") options.storage = value;
    else options.config[key] = value;
  }
  return options;
}
