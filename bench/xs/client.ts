// XS entry of the end-to-end benchmark: Tether's drop-in Client inside the real XS engine, on the simulator's Host. Each
// serial line is a workload as JSON ({ port, id, ...Workload }); the answer is one line `result {count, ms}`.
import { boot } from "../../hosts/sim/xs/host";
import { runWorkload, type Workload } from "../tether-workload";

boot((host) => {
  host.listen({
    onSerialLine(line) {
      const w = JSON.parse(line) as Workload & { port: number; id: string };
      runWorkload(host, { host: "127.0.0.1", port: w.port, tls: false }, w.id, w, (result) =>
        host.serialWrite(`result ${JSON.stringify(result)}\n`),
      );
    },
    onLink() {},
    onShutdown() {},
  });
});
