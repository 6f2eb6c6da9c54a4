// Moddable's desktop simulator (lin, mac, win): the computer's network is always up and there is no serial port.
import entropy from "hosts/moddable/entropy";
import { type Device, print } from "hosts/moddable/platform";
import Time from "time";

export function createDevice(): Device {
  // Time.ticks is the computer's clock on lin: counted from start, the log carries uptime as on a board.
  const started = Time.ticks;
  return {
    platform: "mcsim",
    deviceId: "mcsim",
    now: () => Time.ticks - started,
    wallClock: () => Date.now(),
    linkUp: () => true,
    random: entropy,
    startLink() {},
    startConsole() {
      print("console input is not available in mcsim: use `npm start` for an interactive simulator\n");
    },
  };
}
