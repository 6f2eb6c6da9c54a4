// The module an application written for Moddable's `mqtt` imports instead of it, mapped as "tether-mqtt" by
// hosts/moddable/manifest.json: `import Client from "mqtt"` becomes `import Client from "tether-mqtt"`
// (docs/compat.md). Moddable's module leaves the network to the application, and so does this one: its host starts
// no Wi-Fi. The host is made when the module is first loaded, at run time: the module must not be preloaded.
import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import { bindClient } from "tether/compat/mqtt";

const Client = bindClient(createHost(createDevice()));

export { Client as default, Client };
