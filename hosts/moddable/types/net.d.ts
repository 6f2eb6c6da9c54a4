// Moddable's net module (modules/network/net): the active interface's figures and a DNS lookup.
declare module "net" {
  const Net: {
    get(what: "IP" | "MAC" | "SSID" | "BSSID"): string;
    get(what: "RSSI"): number;
    /** Asynchronous; `address` is undefined when the name does not resolve. Throws when lwIP's queue is full. */
    resolve(name: string, callback: (name: string, address?: string) => void): void;
  };

  export { Net as default };
}
