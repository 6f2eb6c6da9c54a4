// The module an application written for Moddable's `mqtt` imports instead of it, mapped as "tether-mqtt" by
// hosts/moddable/manifest.json: `import Client from "mqtt"` becomes `import Client from "tether-mqtt"`
// (docs/compat.md). Moddable's module leaves the network to the application, and so does this one: its host starts
// no Wi-Fi. Preloaded, as Moddable's module is, so that its class is in flash; what its clients share (the host)
// is made with the first one (hosts/moddable/drop-in).
//
// MQTT over WebSocket is in the build when the application's manifest includes hosts/moddable/manifest_websocket.json
// (TLS likewise, with manifest_tls.json; the diagnoser's lines, with manifest_diagnose.json): the application's own
// manifest says what it carries, and these are found by name (Modules.has), so a build without them has no trace.
import Modules from "modules";
import { Client as Base, type ClientOptions } from "tether/compat/mqtt";

type Shared = typeof import("hosts/moddable/drop-in");

class Client extends Base {
  constructor(options: ClientOptions) {
    const { host, peers, webSocket, diagnoser } = Modules.importNow("hosts/moddable/drop-in") as Shared;
    super(options, host, peers, webSocket, diagnoser);
  }
}

export { Client as default, Client };
