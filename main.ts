// The Moddable entry point: the manifest's config (with mcconfig's command-line overrides) is the build-time layer
// of the settings; the host for this platform is built and the firmware started.

import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import { readSetting } from "hosts/moddable/settings";
import config from "mc/config";
import { start } from "tether/app/firmware";
import { Settings } from "tether/app/settings";

// mc/config is read where it is, in flash (Settings): a copy would keep every setting in the heap.
// The Wi-Fi credentials as the firmware will see them: saved at run time (under the firmware's own keys) first.
const wifi = new Settings(config, { readSetting, writeSetting: () => {} });
start(createHost(createDevice(), { ssid: wifi.get("ssid"), password: wifi.get("password") }), config);
