// The Host of modules/host.ts on the Moddable SDK. The platform-specific part (Wi-Fi, clock, serial input, random
// numbers) comes from a Device; sockets from hosts/moddable/socket, timers from hosts/moddable/timers, storage from
// hosts/moddable/settings when the build has it (hosts/moddable/manifest_storage.json, which the firmware includes):
// found by name (Modules.has), so that an application that keeps nothing across reboots carries no Preference.

import { type Device, print, type WifiCredentials } from "hosts/moddable/platform";
import { connect, resolve } from "hosts/moddable/socket";
import { Timers } from "hosts/moddable/timers";
import Instrumentation from "instrumentation";
import Modules from "modules";
import type {
  ConnectOptions,
  HeapInfo,
  Host,
  HostEvents,
  NetError,
  Socket,
  SocketHandlers,
  Timer,
  TimerCallback,
} from "tether/host";

const SETTINGS = "hosts/moddable/settings";

/** hosts/moddable/settings, by name. */
interface Settings {
  readSetting(name: string): string | undefined;
  writeSetting(name: string, value: string | undefined): void;
}

/**
 * With `wifi`, the host brings the network up with these credentials and keeps it up. Without, the application
 * owns the network (Moddable's setup/network, or its own WiFi.connect, as with Moddable's mqtt module): the host
 * starts no Wi-Fi and reports the link up, so that a dial made before the network is ready fails and is retried.
 */
export function createHost(device: Device, wifi?: WifiCredentials): Host {
  return new ModdableHost(device, wifi);
}

/** A class, so that its methods stay in flash with the preloaded module rather than as closures in the heap. */
class ModdableHost implements Host {
  private readonly device: Device;
  private readonly wifi: boolean;
  private readonly timers: Timers;
  private events: HostEvents | undefined;
  private peak = 0;
  /** The build's storage, or undefined: then nothing is kept across a reboot (said once, at the first write). */
  private readonly settings: Settings | undefined;
  private warned = false;
  /** Host.restart, where the platform has it (an own property: the preloaded class's prototype is frozen). */
  readonly restart?: () => void;

  constructor(device: Device, wifi?: WifiCredentials) {
    this.device = device;
    this.wifi = wifi !== undefined;
    this.timers = new Timers(device);
    if (Modules.has(SETTINGS)) this.settings = Modules.importNow(SETTINGS, true) as Settings;
    if (device.restart) this.restart = () => device.restart!();
    if (wifi) device.startLink(wifi, (up) => this.events?.onLink(up));
  }

  // The device's, read when asked: a property of the host's own would be a slot of the heap for its life.
  get platform(): string {
    return this.device.platform;
  }

  get deviceId(): string {
    return this.device.deviceId;
  }

  now(): number {
    return this.device.now();
  }

  wallClock(): number {
    return this.device.wallClock();
  }

  timer(callback: TimerCallback): Timer {
    return this.timers.timer(callback);
  }

  random(): number {
    return this.device.random();
  }

  serialWrite(text: string): void {
    print(text);
  }

  listen(handlers: HostEvents): void {
    this.events = handlers;
    this.device.startConsole((line) => handlers.onSerialLine(line));
  }

  linkUp(): boolean {
    return this.wifi ? this.device.linkUp() : true;
  }

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return connect(options, handlers, this.timers);
  }

  resolve(name: string, callback: (address: string | undefined, error?: NetError) => void): void {
    resolve(name, callback, this.timers);
  }

  readSetting(key: string): string | undefined {
    return this.settings?.readSetting(key);
  }

  writeSetting(key: string, value: string | undefined): void {
    if (this.settings) this.settings.writeSetting(key, value);
    else if (!this.warned) {
      // What the application asked to keep (a session that lasts, an assigned id) lasts until restart.
      this.warned = true;
      print("storage: this build has none (hosts/moddable/manifest_storage.json): kept until restart\n");
    }
  }

  heap(): HeapInfo {
    // The XS heap in use is the slot heap and the chunk heap; the counters exist in instrumented builds (-i) only.
    const used =
      (Instrumentation.get(Instrumentation.map("XS Slot Heap Used")) ?? 0) +
      (Instrumentation.get(Instrumentation.map("XS Chunk Heap Used")) ?? 0);
    this.peak = Math.max(this.peak, used);
    return { used, peak: this.peak, total: 0 };
  }
}
