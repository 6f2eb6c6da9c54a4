// What every Client of the drop-in (tether-mqtt, hosts/moddable/mqtt.ts) shares: the host, the clients that may
// replace each other (same id and broker: see bindClient in tether/compat/mqtt), the WebSocket layer and the
// diagnoser when the build has them (manifest_websocket.json, manifest_diagnose.json: found by name, as a build
// without them has no trace). Not preloaded: its body runs when the first Client is made, and these live in RAM (a
// preloaded module's objects are read-only, and the linker warns of a preloaded module variable set at run time).
import { createDevice } from "hosts/moddable/device";
import { createHost } from "hosts/moddable/host";
import Modules from "modules";
import type { WebSocketDialer } from "tether/client/transport";
import type { Client, DiagnoserClass } from "tether/compat/mqtt";

const WEBSOCKET = "tether/client/websocket";
const DIAGNOSE = "tether/diag/diagnose";

export const host = createHost(createDevice());
export const peers: Client[] = [];
export const webSocket = Modules.has(WEBSOCKET)
  ? (Modules.importNow(WEBSOCKET, true) as { connectWebSocket: WebSocketDialer }).connectWebSocket
  : undefined;
export const diagnoser = Modules.has(DIAGNOSE)
  ? (Modules.importNow(DIAGNOSE, true) as { Diagnoser: DiagnoserClass }).Diagnoser
  : undefined;
