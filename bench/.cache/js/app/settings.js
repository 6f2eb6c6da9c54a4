const SETTINGS = [
  { key: "broker", value: "mqtt://127.0.0.1:1883", help: "broker URL, or a comma-separated list for failover" },
  { key: "clientId", value: "", help: "MQTT client id (default: tether-<device id>)" },
  { key: "mqttUser", value: "", help: "MQTT user name" },
  { key: "mqttPassword", value: "", help: "MQTT password", secret: true },
  { key: "mqttVersion", value: "3.1.1", help: "MQTT protocol version", choices: ["3.1.1", "5"] },
  { key: "keepAlive", value: "60", help: "keep alive in seconds", min: 1, max: 65535 },
  {
    key: "keepAliveMin",
    value: "15",
    help: "lowest keep alive, s, the NAT idle timeout tuning may set",
    min: 1,
    max: 65535
  },
  { key: "cleanSession", value: "0", help: "1: start a new session on every connect", choices: ["0", "1"] },
  { key: "sessionExpiry", value: "3600", help: "MQTT 5 session expiry, seconds", min: 0, max: 4294967295 },
  { key: "topicPrefix", value: "tether", help: "first level of the device's topics" },
  { key: "beaconInterval", value: "30", help: "status beacon period in seconds (0: off)", min: 0, max: 86400 },
  {
    key: "logLevel",
    value: "info",
    help: "serial log level",
    choices: ["error", "warn", "info", "debug", "trace"]
  },
  { key: "backoffBase", value: "1000", help: "first reconnect delay, ms", min: 100, max: 36e5 },
  { key: "backoffCap", value: "120000", help: "longest reconnect delay, ms", min: 100, max: 864e5 },
  { key: "backoffStable", value: "60000", help: "uptime after which the backoff resets, ms", min: 0, max: 864e5 },
  { key: "connectTimeout", value: "10000", help: "TCP/TLS connect timeout, ms", min: 100, max: 6e5 },
  { key: "connackTimeout", value: "10000", help: "CONNACK timeout, ms", min: 100, max: 6e5 },
  { key: "queueCount", value: "100", help: "offline queue: most messages", min: 0, max: 1e5 },
  { key: "queueBytes", value: "16384", help: "offline queue: most bytes", min: 0, max: 16777216 },
  { key: "maxPacketSize", value: "16384", help: "largest packet sent or accepted, bytes", min: 64, max: 268435455 },
  {
    key: "heapLimit",
    value: "0",
    help: "heap budget, bytes, low_memory above 90% of it (0: the host's total heap)",
    min: 0,
    max: 4294967295
  },
  { key: "ssid", value: "", help: "Wi-Fi network name (device only)" },
  { key: "password", value: "", help: "Wi-Fi password (device only)", secret: true }
];
function settingSpec(key) {
  return SETTINGS.find((s) => s.key === key);
}
function checkSetting(key, value) {
  const spec = settingSpec(key);
  if (!spec) return `unknown setting "${key}"`;
  if (spec.choices && !spec.choices.includes(value)) return `${key}=${value}: must be one of ${spec.choices.join("|")}`;
  if (spec.min !== void 0 && spec.max !== void 0) {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < spec.min || n > spec.max) {
      return `${key}=${value}: must be a whole number from ${spec.min} to ${spec.max}`;
    }
  }
  return void 0;
}
class Settings {
  constructor(config, read, write) {
    this.config = config;
    this.read = read;
    this.write = write;
  }
  config;
  read;
  write;
  get(key) {
    return this.read(`cfg.${key}`) ?? this.config[key] ?? settingSpec(key)?.value ?? "";
  }
  number(key) {
    return Number(this.get(key));
  }
  /** Saves a value; undefined restores the build-time value. Returns an error line or undefined. */
  set(key, value) {
    const error = value === void 0 ? settingSpec(key) ? void 0 : `unknown setting "${key}"` : checkSetting(key, value);
    if (error) return error;
    this.write(`cfg.${key}`, value);
    return void 0;
  }
  /** Every setting's error, for start-up: a bad build-time or saved value must be named, not silently used. */
  errors() {
    const errors = [];
    for (const spec of SETTINGS) {
      const error = checkSetting(spec.key, this.get(spec.key));
      if (error) errors.push(error);
    }
    if (this.number("backoffCap") < this.number("backoffBase")) {
      errors.push(`backoffCap=${this.get("backoffCap")}: must not be below backoffBase=${this.get("backoffBase")}`);
    }
    return errors;
  }
  /** The value as it may be shown: secrets masked. */
  shown(key) {
    const value = this.get(key);
    return settingSpec(key)?.secret && value ? "***" : value;
  }
}
export {
  SETTINGS,
  Settings,
  checkSetting,
  settingSpec
};
