// The host boundary: everything the firmware needs from the platform it runs on, and nothing more.
// hosts/moddable/ implements it on ECMA-419 (embedded:io/socket/tcp and tls, Timer, trace, Preference, Wi-Fi);
// hosts/sim/xs/ implements it inside xsnap by bridging to the Node process that plays the hardware.
// Each member maps one-to-one onto a Moddable API, so both hosts stay thin.

/**
 * Why a socket failed, in the same shapes on every host. The diagnostics classify on these codes.
 * - `dns`: the host name did not resolve.
 * - `refused`: the peer answered the SYN with RST (nothing listens there).
 * - `timeout`: no answer to connect within the timeout.
 * - `reset`: an established connection was reset by the peer or the network.
 * - `tls`: the TLS handshake failed; `detail` names the cause where the host knows it
 *   (`unknown_ca`, `expired`, `name_mismatch`, `missing_intermediate`, `handshake`...).
 * - `unreachable`: no route to the address (link down, bad address).
 * - `closed`: the peer closed the connection in an orderly way (TCP FIN).
 */
export type NetErrorCode = "dns" | "refused" | "timeout" | "reset" | "tls" | "unreachable" | "closed";

export interface NetError {
  code: NetErrorCode;
  /** Host-specific detail for the diagnostics: an errno name, a TLS alert. Never contains secrets. */
  detail?: string;
}

export interface TlsOptions {
  /** Name sent in SNI and checked against the certificate; defaults to the host name. */
  serverName?: string;
  /** Verify the server certificate (default true). */
  verify?: boolean;
  /** Names of CA certificates the host knows (resources on Moddable, PEM files in the simulator). */
  ca?: string[];
}

export interface ConnectOptions {
  /** Host name or dotted IPv4 address. */
  host: string;
  port: number;
  tls?: TlsOptions;
  /** Milliseconds to wait for the connection (resolution included). */
  timeout: number;
}

/** Events a socket delivers, as ECMA-419's onWritable/onReadable/onError callbacks do. */
export interface SocketHandlers {
  /** The host name resolved; `address` is what will be dialled. Called before onConnect. */
  onResolved?(address: string): void;
  /** The connection (and its TLS handshake, if any) is established. */
  onConnect(): void;
  /** Bytes arrived. The array is only valid during the call: copy what must be kept. */
  onData(bytes: Uint8Array): void;
  /** The socket can take more bytes after write() reported back-pressure. */
  onWritable(): void;
  /** The socket is dead; no further callbacks follow. An orderly close by the peer has code `closed`. */
  onError(error: NetError): void;
}

export interface Socket {
  /**
   * Queues bytes for sending; the host copies them before returning. Returns false when its buffer is full
   * (the bytes were still taken): wait for onWritable before writing more.
   */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection; no callbacks follow. */
  close(): void;
}

export interface HeapInfo {
  /** Bytes of the JavaScript heap in use now. */
  used: number;
  /** The most that was in use since start. */
  peak: number;
  /** Total heap available to the engine, when the host knows it (0 otherwise). */
  total: number;
}

/** Events the host delivers to the firmware. */
export interface HostEvents {
  /** A line typed on the serial console, without its line ending. */
  onSerialLine(line: string): void;
  /** The network link (Wi-Fi on a device) went up or down. */
  onLink(up: boolean): void;
  /** The device is about to stop (Ctrl-C in the simulator): say goodbye to the broker now. */
  onShutdown(): void;
}

/**
 * A timer made once and armed again for each deadline: one per job (the supervisor's, the housekeeping), never one
 * per deadline, because every timer a device creates costs heap (and on Moddable's simulator a timer id, of which
 * there are 65,535).
 */
export interface Timer {
  /** Calls the timer's callback once, `ms` milliseconds from now; replaces any deadline it had. */
  schedule(ms: number): void;
  /** Disarms the timer; it can be scheduled again. */
  cancel(): void;
}

/**
 * What a timer calls when due: a function, or an object whose onTimer() is called. A timer kept as long as a client
 * takes an object (the client, or a small one of a class): a closure would be heap of its own for that long, where a
 * method is code in flash.
 */
export type TimerCallback = (() => void) | { onTimer(): void };

/** Calls what a timer calls when due (for the hosts). */
export function callTimer(callback: TimerCallback): void {
  if (typeof callback === "function") callback();
  else callback.onTimer();
}

export interface Host {
  /** Short name of the platform, for status output: `esp32`, `sim`, `lin`. */
  readonly platform: string;
  /** A stable identifier of this device (the MAC address on an ESP32), for the default client id. */
  readonly deviceId: string;
  /** Milliseconds since boot, monotonic. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, or 0 when the device does not know the time yet. */
  wallClock(): number;
  /** A timer for `callback`, not yet scheduled (see TimerCallback). */
  timer(callback: TimerCallback): Timer;
  /**
   * A uniformly distributed number in [0, 1), from a source of this device's own (the hardware RNG on an ESP32, the
   * OS on the desktop): two devices never draw the same sequence, so their retries spread.
   */
  random(): number;
  /** Writes text to the serial port as it is (no line ending is added). */
  serialWrite(text: string): void;
  /** Starts delivering events; called once by the firmware when it is ready for them. */
  listen(events: HostEvents): void;
  /** Whether the network link is up now. */
  linkUp(): boolean;
  /** Opens a TCP (or TLS, with `options.tls`) connection. Failures arrive through `handlers.onError`. */
  connect(options: ConnectOptions, handlers: SocketHandlers): Socket;
  /** Resolves a host name alone, for the layer-by-layer self-test. */
  resolve(name: string, callback: (address: string | undefined, error?: NetError) => void): void;
  /** Persistent key-value storage (Preference on a device). Values are strings; undefined when absent. */
  readSetting(key: string): string | undefined;
  writeSetting(key: string, value: string | undefined): void;
  heap(): HeapInfo;
  /**
   * Restarts the device as its reset would, once the event being handled is over and the connections the firmware
   * closed have gone (a board waits a moment for them, the simulator until they are closed); undefined where the
   * platform cannot restart itself.
   */
  restart?(): void;
}
