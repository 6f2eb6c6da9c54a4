// The top-level guard around the callbacks of the sockets and timers the firmware's parts open: an exception is
// reported as `app fault` and never reaches the host.
import { type Device, fault } from "tether/app/device";
import {
  type ConnectOptions,
  callTimer,
  type HeapInfo,
  type Host,
  type HostEvents,
  type NetError,
  type Socket,
  type SocketHandlers,
  type Timer,
  type TimerCallback,
} from "tether/host";

/**
 * The host as the firmware's parts use it (device.host: the client, the self-test): the same object underneath,
 * but the callbacks of the sockets they open and of the timers they make are guarded like the other events, so
 * that an exception in the client's or the self-test's handling of bytes or deadlines is reported and cannot reach
 * the host. One object per connection and one closure per timer (timers are made once), none per event. Its
 * storage is the device's store.
 */
export function guardSockets(device: Device): Host {
  return new GuardedHost(device, device.host);
}

/**
 * A class rather than closures over the host: its methods stay in flash with the preloaded module, and the instance
 * holds two references.
 */
class GuardedHost implements Host {
  readonly platform: string;
  readonly deviceId: string;
  /** Host.restart where the host has it (an own property, present only then, as on the host). */
  readonly restart?: () => void;

  constructor(
    private readonly device: Device,
    private readonly host: Host,
  ) {
    this.platform = host.platform;
    this.deviceId = host.deviceId;
    if (host.restart) this.restart = () => host.restart!();
  }

  now(): number {
    return this.host.now();
  }

  wallClock(): number {
    return this.host.wallClock();
  }

  timer(callback: TimerCallback): Timer {
    const device = this.device;
    return this.host.timer(() => {
      try {
        callTimer(callback);
      } catch (error) {
        fault(device, "timer", error);
      }
    });
  }

  random(): number {
    return this.host.random();
  }

  serialWrite(text: string): void {
    this.host.serialWrite(text);
  }

  listen(events: HostEvents): void {
    this.host.listen(events);
  }

  linkUp(): boolean {
    return this.host.linkUp();
  }

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return this.host.connect(options, new GuardedHandlers(this.device, handlers));
  }

  resolve(name: string, callback: (address: string | undefined, error?: NetError) => void): void {
    this.host.resolve(name, callback);
  }

  // Storage goes through the store (the flash budget, values that cannot be read): the session keeps its state there.
  readSetting(key: string): string | undefined {
    return this.device.store.readSetting(key);
  }

  writeSetting(key: string, value: string | undefined): void {
    this.device.store.writeSetting(key, value);
  }

  rejected(key: string, why: string): void {
    this.device.store.rejected(key, why);
  }

  heap(): HeapInfo {
    return this.host.heap();
  }
}

/** A socket's handlers, each call guarded (see guardSockets): a class, so its methods are in flash. */
class GuardedHandlers implements SocketHandlers {
  constructor(
    private readonly device: Device,
    private readonly handlers: SocketHandlers,
  ) {}

  onResolved(address: string): void {
    try {
      this.handlers.onResolved?.(address);
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onConnect(): void {
    try {
      this.handlers.onConnect();
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onData(bytes: Uint8Array): void {
    try {
      this.handlers.onData(bytes);
    } catch (error) {
      fault(this.device, "socket", error, { bytes: bytes.length });
    }
  }

  onWritable(): void {
    try {
      this.handlers.onWritable();
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }

  onError(netError: NetError): void {
    try {
      this.handlers.onError(netError);
    } catch (error) {
      fault(this.device, "socket", error);
    }
  }
}
