// The module an application written for Moddable's `mqtt` imports instead of it, mapped as "tether-mqtt" by
// hosts/moddable/manifest.json: `import Client from "mqtt"` becomes `import Client from "tether-mqtt"`
// (docs/compat.md). Moddable's module leaves the network to the application, and so does this one: its host starts
// no Wi-Fi. The host is made when the module is first loaded, at run time: the module must not be preloaded.
//
// MQTT over WebSocket is in the build when the application's manifest includes hosts/moddable/manifest_websocket.json
// (TLS likewise, with manifest_tls.json): the application's own manifest says which transports it carries, and
// this module finds the WebSocket layer by name (Modules.has), so a build without it has no trace of it.
import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import Modules from "modules";
import type { WebSocketDialer } from "tether/client/transport";
import { bindClient } from "tether/compat/mqtt";

const WEBSOCKET = "tether/client/websocket";
const webSocket = Modules.has(WEBSOCKET)
  ? (Modules.importNow(WEBSOCKET, true) as { connectWebSocket: WebSocketDialer }).connectWebSocket
  : undefined;
const Client = bindClient(createHost(createDevice()), webSocket);

export { Client as default, Client };
