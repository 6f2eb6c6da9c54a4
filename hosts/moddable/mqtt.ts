// The module an application written for Moddable's `mqtt` imports instead of it, mapped as "tether-mqtt" by
// hosts/moddable/manifest.json: `import Client from "mqtt"` becomes `import Client from "tether-mqtt"`
// (docs/compat.md). Moddable's module leaves the network to the application, and so does this one: its host starts
// no Wi-Fi. Preloaded, as Moddable's module is: its class is in flash, and the host, made with the first Client, is
// all it adds to the heap (a preloaded module's objects are read-only, its variables are not).
//
// MQTT over WebSocket is in the build when the application's manifest includes hosts/moddable/manifest_websocket.json
// (TLS likewise, with manifest_tls.json): the application's own manifest says which transports it carries, and
// this module finds the WebSocket layer by name (Modules.has), so a build without it has no trace of it.
import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import Modules from "modules";
import type { WebSocketDialer } from "tether/client/transport";
import { Client as Base, type ClientOptions } from "tether/compat/mqtt";
import type { Host } from "tether/host";

const WEBSOCKET = "tether/client/websocket";

/** Made with the first Client: the host, the clients by id and broker (see bindClient), the WebSocket layer. */
let host: Host | undefined;
let peers: Map<string, Base> | undefined;
let webSocket: WebSocketDialer | undefined;

class Client extends Base {
  constructor(options: ClientOptions) {
    if (!host) {
      host = createHost(createDevice());
      peers = new Map();
      webSocket = Modules.has(WEBSOCKET)
        ? (Modules.importNow(WEBSOCKET, true) as { connectWebSocket: WebSocketDialer }).connectWebSocket
        : undefined;
    }
    super(options, host, peers, webSocket);
  }
}

export { Client as default, Client };
