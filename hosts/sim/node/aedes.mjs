// The embedded broker: aedes on a loopback port. `npm start` runs it in its own process; tests, which cannot load
// aedes (an ES module) into jest's CommonJS runtime, run it in a child process (aedes-server.mjs via broker.ts).

import { createServer } from "node:net";
import { Aedes } from "aedes";

/** Starts aedes on `host:port` (0: a free port). Resolves with the port and a close() that ends every connection. */
export async function listenAedes(port, host) {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        server.close();
        broker.close(resolve);
      }),
  };
}
