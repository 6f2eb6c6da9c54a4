// The ESP32 side of the Moddable host: Wi-Fi (ECMA-419's, as the SDK's own setup/network uses on ESP32) with its own
// reconnect backoff, the clock set by SNTP before the link is reported up (TLS checks certificate dates), and console
// lines read from the serial port.

import WiFi from "embedded:network/interface/wifi";
// biome-ignore lint/style/useNodejsImportProtocol: Moddable's console module, not Node's
import Console from "console";
import { type Device, print, type WifiCredentials } from "hosts/moddable/platform";
import espRestart from "hosts/moddable/restart";
// biome-ignore lint/style/useNodejsImportProtocol: Moddable's net module, not Node's
import Net from "net";
import SNTP from "sntp";
import Time from "time";
import Timer from "timer";

const RETRY_FIRST_MS = 1000;
const RETRY_CAP_MS = 60000;
/** WiFi.connection: associated and given an address (500); not associated, nor trying (200). */
const CONNECTED = 500;
const DISCONNECTED = 200;
const SNTP_HOST = "pool.ntp.org";
const CONSOLE_POLL_MS = 50;
const RESTART_DELAY_MS = 500;
const LINE_MAX = 256;
const CR = 13;
const LF = 10;
const BS = 8;
const DEL = 127;

/** What join and onLink do before the link is started: one function in flash, not a closure per device. */
function nothing(): void {}

class Esp32 implements Device {
  readonly deviceId = Net.get("MAC").replace(/:/g, "").toLowerCase();
  private up = false;
  private clockSet = false;
  private failures = 0;
  private retry: Timer | undefined;
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held so that the driver's callback stays reachable
  private wifi: WiFi | undefined;
  private join: () => void = nothing;
  private onLink: (up: boolean) => void = nothing;

  // A getter, not a field: a field is a slot of the heap, a getter is code in flash.
  get platform(): string {
    return "esp32";
  }

  now(): number {
    return Time.ticks;
  }

  wallClock(): number {
    return this.clockSet ? Date.now() : 0;
  }

  linkUp(): boolean {
    return this.up;
  }

  /**
   * Restarts the ESP32 after a moment: the DISCONNECT the firmware has just written leaves the socket's buffers
   * before the reset cuts the link.
   */
  restart(): void {
    Timer.set(() => espRestart(), RESTART_DELAY_MS);
  }

  /** XS's Math.random on an ESP32 draws from the hardware RNG (esp_random(), see xs/platforms/esp/xsHost.h). */
  random(): number {
    return Math.random();
  }

  startLink({ ssid, password }: WifiCredentials, onLink: (up: boolean) => void): void {
    if (!ssid) return;
    this.onLink = onLink;
    const wifi = new WiFi({
      onChanged: (property) => {
        if (property !== "connection") return;
        if (wifi.connection >= CONNECTED) {
          this.failures = 0;
          this.setClock();
        } else if (wifi.connection <= DISCONNECTED) {
          this.report(false);
          this.scheduleRetry();
        }
      },
    });
    this.wifi = wifi;
    this.join = () => wifi.connect(password ? { SSID: ssid, password } : { SSID: ssid });
    this.join();
  }

  startConsole(onLine: (line: string) => void): void {
    // receive() is native and reads the serial port without touching its instance, so no Console (whose
    // constructor starts Moddable's own command line) is made.
    const receive = Console.prototype.receive as unknown as () => number | undefined;
    let line = "";
    let last = 0;
    Timer.repeat(() => {
      for (let c = receive(); c !== undefined; c = receive()) {
        const crlf = c === LF && last === CR;
        last = c;
        if (crlf) continue;
        if (c === CR || c === LF) {
          print("\r\n");
          const done = line;
          line = "";
          onLine(done);
        } else if (c === BS || c === DEL) {
          if (line) print("\b \b");
          line = line.slice(0, -1);
        } else if (c >= 32 && line.length < LINE_MAX) {
          const text = String.fromCharCode(c);
          print(text);
          line += text;
        }
      }
    }, CONSOLE_POLL_MS);
  }

  private report(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.onLink(up);
  }

  private setClock(): void {
    if (this.clockSet) {
      this.report(true);
      return;
    }
    new SNTP({ host: SNTP_HOST }, (message: number, seconds?: number) => {
      if (message === 1 && seconds !== undefined) {
        Time.set(seconds);
        this.clockSet = true;
      }
      // 2: SNTP is trying another server. Anything else is final, and the link is usable either way.
      if (message !== 2) this.report(true);
    });
  }

  // The driver reports every failed attempt as a disconnection: at most one retry is armed at a time.
  private scheduleRetry(): void {
    if (this.retry !== undefined) return;
    const ceiling = Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** Math.min(this.failures++, 16));
    this.retry = Timer.set(
      () => {
        this.retry = undefined;
        this.join();
      },
      ceiling / 2 + (this.random() * ceiling) / 2,
    );
  }
}

export function createDevice(): Device {
  return new Esp32();
}
