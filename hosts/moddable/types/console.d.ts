// Moddable's console module (modules/base/console, ESP32): receive() is native and returns the next byte read from
// the serial port, or undefined when there is none.
declare module "console" {
  class Console {
    receive(): number | undefined;
    write(...text: string[]): void;
  }

  export { Console as default };
}
