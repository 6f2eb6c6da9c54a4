// Moddable's own `mqtt` module (modules/network/mqtt/mqtt.js of the SDK), as bench/xs/moddable-meter.ts calls it.
// It is read from the SDK when the meter runs (bench/meter.ts), never copied here; its specifier is
// "moddable-mqtt" there, as "mqtt" is MQTT.js in this project.
declare module "moddable-mqtt" {
  export default class Client {
    constructor(dictionary: { host: string; port?: number; id: string; timeout?: number });
    onReady?(): void;
    onMessage?(topic: string, body: ArrayBuffer): void;
    onClose?(): void;
    publish(topic: string, data: ArrayBuffer, flags?: { quality?: 0 | 1 | 2 }): void;
    subscribe(topic: string): void;
  }
}
