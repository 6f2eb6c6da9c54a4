// The Host of modules/host.ts on the Moddable SDK. The platform-specific part (Wi-Fi, clock, serial input, heap
// counters) comes from a Device; sockets from hosts/moddable/socket, storage from hosts/moddable/settings.

import { type Device, print, type WifiCredentials } from "hosts/moddable/platform";
import { readSetting, writeSetting } from "hosts/moddable/settings";
import { connect, resolve } from "hosts/moddable/socket";
import Instrumentation from "instrumentation";
import type { HeapInfo, Host, HostEvents, Timer as HostTimer } from "tether/host";
import Timer from "timer";

interface PendingTimer extends HostTimer {
  /** Moddable's timer while it has not fired nor been cleared. */
  handle: number | undefined;
}

/**
 * With `wifi`, the host brings the network up with these credentials and keeps it up. Without, the application
 * owns the network (Moddable's setup/network, or its own WiFi.connect, as with Moddable's mqtt module): the host
 * starts no Wi-Fi and reports the link up, so that a dial made before the network is ready fails and is retried.
 */
export function createHost(device: Device, wifi?: WifiCredentials): Host {
  let events: HostEvents | undefined;
  let timers = 0;
  let peak = 0;
  if (wifi) device.startLink(wifi, (up) => events?.onLink(up));
  return {
    platform: device.platform,
    deviceId: device.deviceId,
    now: () => device.now(),
    wallClock: () => device.wallClock(),
    setTimer(ms: number, callback: () => void): HostTimer {
      const timer: PendingTimer = { id: ++timers, handle: undefined };
      timer.handle = Timer.set(() => {
        timer.handle = undefined;
        callback();
      }, ms);
      return timer;
    },
    clearTimer(timer: HostTimer): void {
      const pending = timer as PendingTimer;
      if (pending.handle !== undefined) Timer.clear(pending.handle);
      pending.handle = undefined;
    },
    serialWrite: print,
    listen(handlers: HostEvents): void {
      events = handlers;
      device.startConsole((line) => handlers.onSerialLine(line));
    },
    linkUp: wifi ? () => device.linkUp() : () => true,
    connect,
    resolve,
    readSetting,
    writeSetting,
    heap(): HeapInfo {
      let used = 0;
      for (const counter of device.heapCounters) used += Instrumentation.get(counter) || 0;
      peak = Math.max(peak, used);
      return { used, peak, total: 0 };
    },
  };
}
