// The Moddable entry point: the manifest's config (with mcconfig's command-line overrides) is the build-time layer
// of the settings; the host for this platform is built and the firmware started.

import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import { readSetting } from "hosts/moddable/settings";
import config from "mc/config";
import { start } from "tether/app/firmware";
import { SETTINGS } from "tether/app/settings";

const settings: Record<string, string> = {};
for (const { key } of SETTINGS) {
  const value = config[key];
  if (value !== undefined && value !== null && typeof value !== "object") settings[key] = String(value);
}
// The Wi-Fi credentials as the firmware will see them: saved at run time (under the firmware's own keys) first.
const setting = (key: string) => readSetting(`cfg.${key}`) ?? settings[key];
start(createHost(createDevice(), { ssid: setting("ssid"), password: setting("password") }), settings);
