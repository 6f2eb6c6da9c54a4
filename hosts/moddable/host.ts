// The Host of modules/host.ts on the Moddable SDK. The platform-specific part (Wi-Fi, clock, serial input, random
// numbers) comes from a Device; sockets from hosts/moddable/socket, timers from hosts/moddable/timers, storage from
// hosts/moddable/settings.

import { type Device, print, type WifiCredentials } from "hosts/moddable/platform";
import { readSetting, writeSetting } from "hosts/moddable/settings";
import { connect, resolve } from "hosts/moddable/socket";
import { Timers } from "hosts/moddable/timers";
import Instrumentation from "instrumentation";
import type { HeapInfo, Host, HostEvents } from "tether/host";

/**
 * With `wifi`, the host brings the network up with these credentials and keeps it up. Without, the application
 * owns the network (Moddable's setup/network, or its own WiFi.connect, as with Moddable's mqtt module): the host
 * starts no Wi-Fi and reports the link up, so that a dial made before the network is ready fails and is retried.
 */
export function createHost(device: Device, wifi?: WifiCredentials): Host {
  let events: HostEvents | undefined;
  let peak = 0;
  const timers = new Timers(() => device.now());
  // The XS heap in use is the slot heap and the chunk heap; the counters exist in instrumented builds (-i) only.
  const slots = Instrumentation.map("XS Slot Heap Used");
  const chunks = Instrumentation.map("XS Chunk Heap Used");
  if (wifi) device.startLink(wifi, (up) => events?.onLink(up));
  return {
    platform: device.platform,
    deviceId: device.deviceId,
    now: () => device.now(),
    wallClock: () => device.wallClock(),
    timer: (callback) => timers.timer(callback),
    random: () => device.random(),
    serialWrite: print,
    listen(handlers: HostEvents): void {
      events = handlers;
      device.startConsole((line) => handlers.onSerialLine(line));
    },
    linkUp: wifi ? () => device.linkUp() : () => true,
    connect: (options, handlers) => connect(options, handlers, timers),
    resolve: (name, callback) => resolve(name, callback, timers),
    readSetting,
    writeSetting,
    heap(): HeapInfo {
      const used = (Instrumentation.get(slots) ?? 0) + (Instrumentation.get(chunks) ?? 0);
      peak = Math.max(peak, used);
      return { used, peak, total: 0 };
    },
  };
}
