// The module an application written for Moddable's `mqtt` imports instead of it, mapped as "tether-mqtt" in the
// manifest: `import Client from "mqtt"` becomes `import Client from "tether-mqtt"` (docs/compat.md).
//
// Moddable's module leaves the network to the application (setup/network, or its own WiFi.connect), and so does
// this one: its Host starts no Wi-Fi (no credentials are found under keys nobody writes) and reports the link up,
// so that a dial made before the network is ready fails and is retried like any other.
import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import { bindClient } from "tether/compat/mqtt";
import type { Host } from "tether/host";

const host: Host = Object.create(createHost(createDevice(), {}, (name) => `mqtt.${name}`));
host.linkUp = () => true;

const Client = bindClient(host);

export { Client as default, Client };
