// The SDK's `websocket` module: Moddable's `mqtt` module imports it; a plain mqtt:// client never makes one.
export class Client {}
