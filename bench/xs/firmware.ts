// XS entry of the memory benchmark: the real firmware on the simulator's host, started only on the serial line
// `!start`, so that the heap can be measured before it runs (the code loaded, nothing allocated by it yet).
import { start } from "tether/app/firmware";
import type { HostEvents } from "tether/host";
import { boot } from "../../hosts/sim/xs/host";

boot((host, config) => {
  let firmware: HostEvents | undefined;
  host.listen({
    onSerialLine(line) {
      if (line === "!start") start({ ...host, listen: (events) => (firmware = events) }, config);
      else firmware?.onSerialLine(line);
    },
    onLink: (up) => firmware?.onLink(up),
    onShutdown: () => firmware?.onShutdown(),
  });
});
