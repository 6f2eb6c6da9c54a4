// The firmware's entry: wires the client, supervisor and diagnostics to a host. (Stub until the client lands.)
import type { Host } from "tether/host";

/**
 * Starts the firmware. `config` holds the build-time settings (the manifest's `config` on Moddable, the command
 * line in the simulator) as strings keyed by setting name; values saved at run time in the host's storage win.
 */
export function start(host: Host, config: Record<string, string>): void {
  host.serialWrite(`tether starting on ${host.platform} broker=${config.broker ?? "(default)"}\n`);
  host.listen({
    onSerialLine(line) {
      host.serialWrite(`echo ${line}\n`);
    },
    onLink() {},
    onShutdown() {
      host.serialWrite("shutdown\n");
    },
  });
}
