// A scripted MQTT peer on a free 127.0.0.1 port, for what no real broker does on demand: an MQTT 5 DISCONNECT or
// CONNACK with a Server Reference, a reason code a test needs, a malformed or untimely packet. Each connection plays
// a script of steps (the same one, or one per connection number) and records every packet it receives; packets are
// mqtt-packet objects, encoded with the protocol version of the connection's CONNECT.
//
//   const fake = await startFakeBroker([
//     { expect: "connect" },
//     { send: { cmd: "connack", reasonCode: 0x9c, sessionPresent: false, properties: { serverReference: "h:1" } } },
//     { close: "end" },
//   ]);

import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { generate, type Packet, type PacketCmd, parser } from "mqtt-packet";

export type Step =
  /** Waits for the next packet of this type from the client (packets of other types are recorded and skipped). */
  | { expect: PacketCmd; timeoutMs?: number }
  /** Sends a packet. */
  | { send: Packet }
  /** Sends raw bytes, for what mqtt-packet will not encode (a malformed packet). */
  | { raw: Uint8Array }
  /** Ends the connection: an orderly close (FIN) or a reset (RST). */
  | { close: "end" | "reset" };

/** The script of connection `n` (1 for the first). */
export type Script = Step[] | ((n: number) => Step[]);

export interface FakeConnection {
  /** 1 for the first connection accepted. */
  n: number;
  /** Every packet received, in order. */
  received: Packet[];
  /** Set when the script failed (an expected packet did not come); the connection is then reset. */
  error?: Error;
  /** Resolves when the script has run to its end (or failed). */
  done: Promise<void>;
}

export interface FakeBroker {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  connections: FakeConnection[];
  /** Resolves with connection `n` once it has been accepted; rejects after `timeoutMs`. */
  connection(n: number, timeoutMs?: number): Promise<FakeConnection>;
  close(): Promise<void>;
}

export async function startFakeBroker(script: Script): Promise<FakeBroker> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const n = connections.length + 1;
    const steps = typeof script === "function" ? script(n) : script;
    const connection: FakeConnection = { n, received: [], done: Promise.resolve() };
    connection.done = play(socket, steps, connection).catch((error: Error) => {
      connection.error = error;
      socket.resetAndDestroy();
    });
    connections.push(connection);
    for (const wake of waiters) wake();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    connection(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = connections[n - 1];
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake broker: no connection ${n} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function play(socket: Socket, steps: Step[], connection: FakeConnection): Promise<void> {
  const settings = { protocolVersion: 4 };
  const incoming = parser(settings);
  const queue: Packet[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  incoming.on("packet", (packet: Packet) => {
    // The parser reads the version-dependent parts of later packets by the CONNECT's version.
    if (packet.cmd === "connect") Object.assign(settings, { protocolVersion: packet.protocolVersion ?? 4 });
    Object.assign((incoming as unknown as { settings: object }).settings, settings);
    connection.received.push(packet);
    queue.push(packet);
    wake?.();
  });
  incoming.on("error", () => socket.resetAndDestroy());
  socket.on("data", (bytes: Buffer) => incoming.parse(bytes));
  socket.once("close", () => {
    ended = true;
    wake?.();
  });

  const nextOf = (cmd: PacketCmd, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`fake broker: no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        wake = undefined;
        if (error) reject(error);
        else resolve();
      };
      wake = () => {
        while (queue.length > 0) if (queue.shift()!.cmd === cmd) return finish();
        if (ended) finish(new Error(`fake broker: the client closed before sending ${cmd}`));
      };
      wake();
    });

  for (const step of steps) {
    if ("expect" in step) await nextOf(step.expect, step.timeoutMs ?? 5000);
    else if ("send" in step) socket.write(generate(step.send, settings));
    else if ("raw" in step) socket.write(step.raw);
    else if (step.close === "end") socket.end();
    else socket.resetAndDestroy();
  }
}
