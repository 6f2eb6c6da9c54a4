// A real aedes broker for a test, on a 127.0.0.1 port. aedes 1.x is ESM-only and jest runs tests as CommonJS, so it
// runs in a child process of its own (the simulator's embedded broker, hosts/sim/node/broker.ts), which is also what
// a real broker is to the device: stopping it closes every connection, killing it is a crash.

import { type EmbeddedBroker, startBroker } from "../../hosts/sim/node/broker";

export interface Aedes {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /** Orderly stop: every connection is closed without DISCONNECT, then the process exits. */
  stop(): Promise<void>;
  /** A broker restart on the same port: stop, then start afresh with no sessions (aedes keeps them in memory). */
  restart(): Promise<void>;
}

/** Starts aedes on a free port (or `port`); resolves once it accepts connections. */
export async function startAedes(port = 0): Promise<Aedes> {
  let broker: EmbeddedBroker = await startBroker(port);
  return {
    port: broker.port,
    url: broker.url,
    stop: () => broker.stop(),
    async restart() {
      await broker.stop();
      broker = await startBroker(broker.port);
    },
  };
}
