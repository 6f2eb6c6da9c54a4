// Moddable's wifi module (modules/network/wifi), station side. `new WiFi(options, callback)` connects and reports
// "connect", "gotIP", "lostIP" and "disconnect" (with code -1 when the password was rejected); the static connect()
// reconnects, and without arguments disconnects.
declare module "wifi" {
  type WiFiOptions = { ssid: string; password?: string; bssid?: string };
  class WiFi {
    constructor(options: WiFiOptions, callback: (message: string, code?: number) => void);
    close(): void;
    static connect(options?: WiFiOptions): void;
  }

  export { WiFi as default };
}
