// The top-level guard around the callbacks of the sockets and timers the firmware's parts open: an exception is
// reported as `app fault` and never reaches the host.
import { type Device, fault } from "tether/app/device";
import type { Host, NetError, SocketHandlers } from "tether/host";

/**
 * The host as the firmware's parts use it (device.host: the client, the self-test): the same object underneath,
 * but the callbacks of the sockets they open and of the timers they make are guarded like the other events, so
 * that an exception in the client's or the self-test's handling of bytes or deadlines is reported and cannot reach
 * the host. One object per connection and one closure per timer (timers are made once), none per event. Its
 * storage is the device's store.
 */
export function guardSockets(device: Device): Host {
  const { host } = device;
  const timer: Host["timer"] = (callback) =>
    host.timer(() => {
      try {
        callback();
      } catch (error) {
        fault(device, "timer", error);
      }
    });
  const connect: Host["connect"] = (options, handlers) => host.connect(options, new GuardedHandlers(device, handlers));
  // Storage goes through the store (the flash budget, values that cannot be read): the session keeps its state there.
  const { store } = device;
  const readSetting: Host["readSetting"] = (key) => store.readSetting(key);
  const writeSetting: Host["writeSetting"] = (key, value) => store.writeSetting(key, value);
  const rejected = (key: string, why: string) => store.rejected(key, why);
  // Own properties over the host: a host whose class is preloaded has a frozen prototype, and assigning over an
  // inherited read-only method throws.
  return Object.create(host, {
    timer: { value: timer },
    connect: { value: connect },
    readSetting: { value: readSetting },
    writeSetting: { value: writeSetting },
    rejected: { value: rejected },
  });
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
