// XS entry of the memory benchmark: the real firmware on the simulator's host, started only on the serial line
// `!start`, so that the heap can be measured before it runs (the code loaded, nothing allocated by it yet).
// `!pub <count> <bytes> <topic>` publishes that many QoS 1 messages through the firmware as the console's `pub`
// does: a 4 KB payload is more than a console line takes.
import type { Device } from "tether/app/device";
import { start } from "tether/app/firmware";
import { publish } from "tether/app/publish";
import type { HostEvents } from "tether/host";
import { boot } from "../../hosts/sim/xs/host";

boot((host, config) => {
  let firmware: HostEvents | undefined;
  let device: Device | undefined;
  host.listen({
    onSerialLine(line) {
      const [command, count, bytes, topic] = line.split(" ");
      if (command === "!start") device = start({ ...host, listen: (events) => (firmware = events) }, config);
      else if (command === "!pub" && device) {
        for (let i = 0; i < Number(count); i++) {
          host.serialWrite(`| pub ${publish(device, topic, "x".repeat(Number(bytes)), 1, false)}\n`);
        }
      } else firmware?.onSerialLine(line);
    },
    onLink: (up) => firmware?.onLink(up),
    onShutdown: () => firmware?.onShutdown(),
  });
});
