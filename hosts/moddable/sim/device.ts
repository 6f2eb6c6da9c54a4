// Moddable's desktop simulator (lin, mac, win): the computer's network is always up and there is no serial port.
import { type Counter, type Device, print } from "hosts/moddable/platform";

export function createDevice(): Device {
  return {
    platform: "mcsim",
    deviceId: "mcsim",
    // "XS Slot Heap Used" and "XS Chunk Heap Used" where the ESP32-only counters are absent.
    heapCounters: [11, 12] as readonly Counter[],
    now: () => Date.now(),
    wallClock: () => Date.now(),
    linkUp: () => true,
    startLink() {},
    startConsole() {
      print("console input is not available in mcsim: use `npm start` for an interactive simulator\n");
    },
  };
}
