// What differs between an ESP32 and Moddable's desktop simulator. hosts/moddable/device.ts (esp32) and
// hosts/moddable/sim/device.ts (lin, mac, win) implement it; the manifest maps one of them to
// "hosts/moddable/device" per platform.
export interface WifiCredentials {
  ssid: string | undefined;
  password: string | undefined;
}

export interface Device {
  /** For Host.platform. */
  readonly platform: string;
  /** For Host.deviceId. */
  readonly deviceId: string;
  now(): number;
  wallClock(): number;
  linkUp(): boolean;
  /** For Host.random: uniform in [0, 1), from a source of this device's own. */
  random(): number;
  /** Brings the network link up and keeps it up; calls onLink on every change. */
  startLink(credentials: WifiCredentials, onLink: (up: boolean) => void): void;
  /** Delivers every line typed on the serial console, without its line ending. */
  startConsole(onLine: (line: string) => void): void;
  /** For Host.restart, where the platform can restart itself (an ESP32; not Moddable's simulator). */
  restart?(): void;
}

/** XS's trace(): the serial port on a device (the xsbug console in a debug build), stdout in the simulator. */
export function print(text: string): void {
  trace(text);
}

/** The text of what the SDK threw. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
