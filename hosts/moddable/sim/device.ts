// Moddable's desktop simulator (lin, mac, win): the computer's network is always up and there is no serial port.
import entropy from "hosts/moddable/entropy";
import { type Device, print } from "hosts/moddable/platform";
import Time from "time";

class Simulator implements Device {
  // Time.ticks is the computer's clock on lin: counted from start, the log carries uptime as on a board.
  private readonly started = Time.ticks;

  // Getters, not fields: a field is a slot of the heap, a getter is code in flash.
  get platform(): string {
    return "mcsim";
  }

  get deviceId(): string {
    return "mcsim";
  }

  now(): number {
    return Time.ticks - this.started;
  }

  wallClock(): number {
    return Date.now();
  }

  linkUp(): boolean {
    return true;
  }

  random(): number {
    return entropy();
  }

  startLink(): void {}

  startConsole(): void {
    print("console input is not available in mcsim: use `npm start` for an interactive simulator\n");
  }
}

export function createDevice(): Device {
  return new Simulator();
}
