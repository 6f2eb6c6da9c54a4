// The firmware's settings: names, defaults, validation. Three layers, later wins: the defaults below, the
// build-time config (the manifest's `config` on Moddable, command-line options in the simulator), and values
// saved at run time with `config set` (the host's key-value storage).

import { parseBrokers } from "tether/client/broker";
import { quote } from "tether/diag/console";
import type { Storage } from "tether/diag/history";
import { frozen } from "tether/mqtt/frozen";
import { topicNameProblem } from "tether/mqtt/topic";
import { badCharacter, utf8Length } from "tether/mqtt/utf8";

export interface SettingSpec {
  key: string;
  /** Default as the string a user would type; "" means unset. */
  value: string;
  help: string;
  /** Never printed: `config get` shows "***" and logs redact it. */
  secret?: boolean;
  /** For numbers: the allowed range, inclusive. */
  min?: number;
  max?: number;
  /** For enumerations: the allowed values. */
  choices?: string[];
  /** For text with a meaning: what is wrong with `value`, or undefined when it is fine. */
  check?: (value: string) => string | undefined;
  /**
   * Decides who controls the device (where it connects, as whom, who may command it): changed on the serial console
   * or in the build only, never by a command arriving on the command topic.
   */
  local?: boolean;
}

/** Longest client id and topic prefix, in UTF-8 bytes: both are levels of the device's topics. */
const LEVEL_MAX = 128;

/** Why `value` cannot be one level of a topic name (the device's topics are `<topicPrefix>/<clientId>/...`). */
function levelProblem(value: string): string | undefined {
  if (value === "") return "must not be empty";
  if (value.indexOf("/") >= 0) return "must be one topic level: no /";
  const problem = topicNameProblem(value);
  if (problem) return `must be one topic level that brokers accept, not ${problem}`;
  if (utf8Length(value) > LEVEL_MAX) return `must be at most ${LEVEL_MAX} bytes of UTF-8`;
  return undefined;
}

/** Why `value` cannot be an MQTT string (a user name): what brokers refuse (see utf8.ts). */
function textProblem(value: string): string | undefined {
  const bad = badCharacter(value);
  if (bad) return `brokers refuse ${bad}`;
  return utf8Length(value) > 65535 ? "must be at most 65535 bytes of UTF-8" : undefined;
}

function brokerProblem(value: string): string | undefined {
  const brokers = parseBrokers(value);
  return typeof brokers === "string" ? brokers : undefined;
}

export const SETTINGS: readonly SettingSpec[] = frozen<SettingSpec>([
  {
    key: "broker",
    value: "mqtt://127.0.0.1:1883",
    help: "broker URL, or a comma-separated list for failover",
    check: brokerProblem,
    local: true,
  },
  {
    key: "brokerCa",
    value: "",
    help: "CA certificate for mqtts:// and wss:// (a resource on the device, a PEM file in the simulator; empty: the host's)",
    local: true,
  },
  {
    key: "clientId",
    value: "",
    help: "MQTT client id (default: tether-<device id>); one topic level of at most 128 bytes",
    // Empty is the default id. MQTT 3.1.1 brokers need only take 1 to 23 characters 0-9a-zA-Z; mosquitto takes more.
    check: (value) => (value === "" ? undefined : levelProblem(value)),
    local: true,
  },
  {
    key: "mqttUser",
    value: "",
    help: "MQTT user name",
    check: textProblem,
    local: true,
  },
  { key: "mqttPassword", value: "", help: "MQTT password", secret: true, local: true },
  { key: "mqttVersion", value: "3.1.1", help: "MQTT protocol version", choices: ["3.1.1", "5"] },
  { key: "keepAlive", value: "60", help: "keep alive in seconds", min: 1, max: 65535 },
  {
    key: "keepAliveMin",
    value: "15",
    help: "lowest keep alive, s, the NAT idle timeout tuning may set",
    min: 1,
    max: 65535,
  },
  { key: "cleanSession", value: "0", help: "1: start a new session on every connect", choices: ["0", "1"] },
  { key: "sessionExpiry", value: "3600", help: "MQTT 5 session expiry, seconds", min: 0, max: 4294967295 },
  {
    key: "topicPrefix",
    value: "tether",
    help: "first level of the device's topics: no /, + or #, not starting with $",
    // Topics starting with $ are the broker's ($SYS): wildcard subscriptions of operators would not see them.
    check: (value) => (value.startsWith("$") ? "must not start with $" : levelProblem(value)),
    local: true,
  },
  {
    key: "remoteCommands",
    value: "status,stats,history,help",
    help: "commands allowed on the command topic, comma-separated (empty: the remote console is off)",
    check: (value) => (/^[a-z]*(,[a-z]*)*$/.test(value) ? undefined : "must be command names separated by commas"),
    local: true,
  },
  { key: "beaconInterval", value: "30", help: "status beacon period in seconds (0: off)", min: 0, max: 86400 },
  {
    key: "logLevel",
    value: "info",
    help: "serial log level",
    choices: ["error", "warn", "info", "debug", "trace"],
  },
  { key: "backoffBase", value: "1000", help: "first reconnect delay, ms", min: 100, max: 3600000 },
  { key: "backoffCap", value: "120000", help: "longest reconnect delay, ms", min: 100, max: 86400000 },
  {
    key: "backoffSpread",
    value: "15000",
    help: "fleet window, ms: first attempt after power-on within it, retries of a down broker too (0: off)",
    min: 0,
    max: 86400000,
  },
  { key: "backoffStable", value: "60000", help: "uptime after which the backoff resets, ms", min: 1000, max: 86400000 },
  { key: "connectTimeout", value: "10000", help: "TCP/TLS connect timeout, ms", min: 100, max: 600000 },
  { key: "connackTimeout", value: "10000", help: "CONNACK timeout, ms", min: 100, max: 600000 },
  {
    key: "queueCount",
    value: "100",
    help: "messages waiting to be sent (offline, or behind the in-flight window): at most this many",
    min: 0,
    max: 100000,
  },
  {
    key: "queueBytes",
    value: "16384",
    help: "messages waiting to be sent: at most this many bytes",
    min: 0,
    max: 16777216,
  },
  {
    key: "maxInflight",
    value: "20",
    help: "most QoS 1/2 messages awaiting their ack; 3.1.1 brokers cannot announce their limit (mosquitto: 20)",
    min: 1,
    max: 65535,
  },
  { key: "maxPacketSize", value: "16384", help: "largest packet sent or accepted, bytes", min: 64, max: 268435455 },
  {
    key: "receiveMaximum",
    value: "20",
    help: "MQTT 5: most QoS 1/2 messages the broker may send before we answer (65535: no limit announced)",
    min: 1,
    max: 65535,
  },
  {
    key: "topicAliasMaximum",
    value: "8",
    help: "MQTT 5: topic aliases the broker may use towards the device (0: none)",
    min: 0,
    max: 65535,
  },
  {
    key: "topicAliases",
    value: "0",
    help: "MQTT 5: 1: give each topic published to an alias, up to the broker's maximum (saves bytes per message)",
    choices: ["0", "1"],
  },
  {
    key: "willDelay",
    value: "0",
    help: "MQTT 5: seconds the broker waits before publishing the will (a quick reconnect cancels it)",
    min: 0,
    max: 4294967295,
  },
  {
    key: "messageExpiry",
    value: "0",
    help: "MQTT 5: seconds the device's messages (status, replies, will) live on the broker (0: for ever)",
    min: 0,
    max: 4294967295,
  },
  {
    key: "responseInfo",
    value: "0",
    help: "MQTT 5: 1: ask the broker for Response Information (a base for response topics; logged at connect)",
    choices: ["0", "1"],
  },
  {
    key: "problemInfo",
    value: "1",
    help: "MQTT 5: 0: ask the broker to leave reason strings out of failures (bytes; the diagnostics lose them)",
    choices: ["0", "1"],
  },
  {
    key: "connectProps",
    value: "",
    help: "MQTT 5: user properties of the CONNECT, name=value pairs separated by commas (fw=1.2,site=lab)",
    max: 1024,
    check: (value) => {
      const pairs = userPairs(value);
      return typeof pairs === "string" ? pairs : undefined;
    },
  },
  {
    key: "heapLimit",
    value: "0",
    help: "heap budget, bytes, low_memory above 90% of it (0: the host's total heap)",
    min: 0,
    max: 4294967295,
  },
  {
    key: "flashBudget",
    value: "120",
    help: "flash writes an hour at most (history, session, tuner, config; 0: no limit); see stats",
    min: 0,
    max: 100000,
    local: true,
  },
  {
    key: "serialBudget",
    value: "20",
    help: "log lines a second on serial, on average, bursts of 5 s worth (0: no limit); the rest is summed up",
    min: 0,
    max: 10000,
    local: true,
  },
  {
    key: "historyBudget",
    value: "16",
    help: "new history entries an hour at most (repeats are counted in one entry; 0: no limit)",
    min: 0,
    max: 100000,
    local: true,
  },
  {
    key: "remoteBudget",
    value: "30",
    help: "commands a minute the command topic runs at most (0: no limit); the rest are refused and counted",
    min: 0,
    max: 100000,
    local: true,
  },
  { key: "ssid", value: "", help: "Wi-Fi network name (device only)", local: true },
  { key: "password", value: "", help: "Wi-Fi password (device only)", secret: true, local: true },
]);

export function settingSpec(key: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.key === key);
}

/** Checks one value against its spec; the error is one line naming the setting and what is allowed. */
export function checkSetting(key: string, value: string): string | undefined {
  const spec = settingSpec(key);
  if (!spec) return `unknown setting "${key}"`;
  // Quoted as the console reads it back: a value may hold controls or nothing at all.
  const shown = spec.secret ? "***" : quote(value);
  if (spec.choices && !spec.choices.includes(value)) return `${key}=${shown}: must be one of ${spec.choices.join("|")}`;
  if (spec.min !== undefined && spec.max !== undefined) {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < spec.min || n > spec.max) {
      return `${key}=${shown}: must be a whole number from ${spec.min} to ${spec.max}`;
    }
  }
  const problem = spec.check?.(value);
  return problem === undefined ? undefined : `${key}=${shown}: ${problem}`;
}

/** A build-time value as a setting's: its string; none for undefined, null or an object. */
function buildValue(value: unknown): string | undefined {
  return value === undefined || value === null || typeof value === "object" ? undefined : String(value);
}

/**
 * A settings store over the layers: defaults, build-time config, saved values (`prefix`-keyed in storage). The
 * build-time config is read where it is (Moddable's mc/config, in flash), not copied: a value that is not a string
 * is taken as its string, an object (mc/config's own sections) as no value.
 */
export class Settings {
  constructor(
    private readonly config: Readonly<Record<string, unknown>>,
    private readonly storage: Storage,
    /** A check of the settings as a whole, by what they mean (the packets they make), for errors(). */
    private readonly meaning?: (settings: Settings) => string | undefined,
  ) {}

  get(key: string): string {
    return this.storage.readSetting(`cfg.${key}`) ?? buildValue(this.config[key]) ?? settingSpec(key)?.value ?? "";
  }

  number(key: string): number {
    return Number(this.get(key));
  }

  /**
   * Removes saved values that fail their check, each named through Storage.rejected (at boot: the device then runs
   * with the build-time value or the default, rather than stopping at a config_error over a value nobody typed).
   */
  dropInvalid(): void {
    const { storage } = this;
    if (!storage.rejected) return;
    for (const spec of SETTINGS) {
      const key = `cfg.${spec.key}`;
      const value = storage.readSetting(key);
      const error = value === undefined ? undefined : checkSetting(spec.key, value);
      if (error) storage.rejected(key, error);
    }
  }

  /**
   * Saves a value; undefined restores the build-time value. Returns an error line or undefined. A value is refused
   * when it is wrong by itself or when it would add an error with the other settings (backoffCap below
   * backoffBase): what `config set` saves must not keep the device from working after the reboot. Errors already
   * there (a bad build-time value) do not block changing something else.
   */
  set(key: string, value: string | undefined): string | undefined {
    const error =
      value === undefined ? (settingSpec(key) ? undefined : `unknown setting "${key}"`) : checkSetting(key, value);
    if (error) return error;
    const before = this.errors();
    const added = this.with(key, value)
      .errors()
      .find((e) => !before.includes(e));
    if (added) return added;
    this.storage.writeSetting(`cfg.${key}`, value);
    return undefined;
  }

  /** These settings with `key` changed to `value`, saving nothing. */
  private with(key: string, value: string | undefined): Settings {
    const { storage } = this;
    return new Settings(
      this.config,
      {
        readSetting: (k) => (k === `cfg.${key}` ? value : storage.readSetting(k)),
        writeSetting: () => {},
      },
      this.meaning,
    );
  }

  /** Every setting's error, for start-up: a bad build-time or saved value must be named, not silently used. */
  errors(): string[] {
    const errors: string[] = [];
    for (const spec of SETTINGS) {
      const error = checkSetting(spec.key, this.get(spec.key));
      if (error) errors.push(error);
    }
    if (this.number("backoffCap") < this.number("backoffBase")) {
      errors.push(`backoffCap=${this.get("backoffCap")}: must not be below backoffBase=${this.get("backoffBase")}`);
    }
    // What the values mean together is checked once each is valid by itself.
    const meaning = errors.length === 0 ? this.meaning?.(this) : undefined;
    if (meaning) errors.push(meaning);
    return errors;
  }

  /** The CA names for TlsOptions.ca from brokerCa; undefined leaves the choice to the host. */
  ca(): string[] | undefined {
    const ca = this.get("brokerCa");
    return ca ? [ca] : undefined;
  }

  /** The value as it may be shown: secrets masked. */
  shown(key: string): string {
    const value = this.get(key);
    return settingSpec(key)?.secret && value ? "***" : value;
  }
}

/** `name=value` pairs separated by commas, as the connectProps setting holds them; a string says what is wrong. */
export function userPairs(value: string): [string, string][] | string {
  const pairs: [string, string][] = [];
  if (value === "") return pairs;
  for (const item of value.split(",")) {
    const at = item.indexOf("=");
    if (at < 1) return `expected name=value pairs separated by commas, not ${JSON.stringify(item)}`;
    const name = item.slice(0, at);
    const text = item.slice(at + 1);
    const bad = badCharacter(name) ?? badCharacter(text);
    if (bad) return `brokers refuse ${bad}`;
    pairs.push([name, text]);
  }
  return pairs;
}
