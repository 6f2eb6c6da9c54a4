// Moddable's desktop simulator (lin, mac, win): the computer's network is always up and there is no serial port.
import entropy from "hosts/moddable/entropy";
import { type Device, print } from "hosts/moddable/platform";
import Time from "time";

export function createDevice(): Device {
  return {
    platform: "mcsim",
    deviceId: "mcsim",
    // Milliseconds since the simulator started, as on a board: log lines carry uptime, not the date.
    now: () => Time.ticks,
    wallClock: () => Date.now(),
    linkUp: () => true,
    random: entropy,
    startLink() {},
    startConsole() {
      print("console input is not available in mcsim: use `npm start` for an interactive simulator\n");
    },
  };
}
