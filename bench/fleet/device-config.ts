// A fleet device's configuration, made the way the firmware makes it: the firmware's settings (defaults, then
// the `--set` overrides, checked by its own rules) turned into a ClientConfig by the firmware's clientConfig,
// which also wires the firmware's failure classifier.
import { clientConfig } from "tether/app/client-config";
import { checkSetting, Settings, settingSpec } from "tether/app/settings";
import type { ClientConfig } from "tether/client/client";

/** Settings the tool gives every device, before the operator's `--set`. */
export interface DeviceIdentity {
  broker: string;
  clientId: string;
  user?: string;
  password?: string;
}

/** Checks `key=value` overrides; returns the first error as one line. */
export function checkOverrides(overrides: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(overrides)) {
    const error = checkSetting(key, value);
    if (error) return error;
  }
  return undefined;
}

/** The device's ClientConfig, or the firmware's one-line error. */
export function deviceConfig(identity: DeviceIdentity, overrides: Record<string, string>): ClientConfig | string {
  const values: Record<string, string> = {
    broker: identity.broker,
    clientId: identity.clientId,
    ...(identity.user ? { mqttUser: identity.user, mqttPassword: identity.password ?? "" } : {}),
    ...overrides,
  };
  const settings = new Settings(values, { readSetting: () => undefined, writeSetting: () => {} });
  const clientId = settings.get("clientId");
  return clientConfig(
    settings,
    clientId,
    `${settings.get("topicPrefix")}/${clientId}/status`,
    settings.number("keepAlive"),
  );
}

/**
 * The overrides and the backoff settings in effect (defaults included), for a result that says what it ran;
 * secrets shown as the console shows them.
 */
export function settingsInEffect(overrides: Record<string, string>): Record<string, string> {
  const config = deviceConfig({ broker: "mqtt://127.0.0.1:1883", clientId: "fleet" }, overrides);
  if (typeof config === "string") throw new Error(config);
  const { base, cap, spread, stable } = config.backoff;
  const shown: Record<string, string> = {
    backoffBase: String(base),
    backoffCap: String(cap),
    backoffSpread: String(spread),
    backoffStable: String(stable),
  };
  for (const [key, value] of Object.entries(overrides)) shown[key] = settingSpec(key)?.secret ? "***" : value;
  return shown;
}

/** A broker URL as it may be shown: any user information in it masked. */
export function shownUrl(url: string): string {
  const at = url.lastIndexOf("@");
  const scheme = url.indexOf("://");
  return at > scheme && scheme >= 0 ? `${url.slice(0, scheme + 3)}***${url.slice(at)}` : url;
}
