// A scripted MQTT broker on 127.0.0.1 for the behaviour mosquitto will not produce: refusing CONNACK codes it never
// sends, MQTT 5 DISCONNECTs with a reason (session taken over, server moved, quota), malformed or oversized
// packets. Packets are decoded and encoded with mqtt-packet (an independent implementation, not ours); the script
// sees each packet a client sends, CONNECT included, and answers what it wants, byte-exact when it must.

import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { generate, type Packet, parser } from "mqtt-packet";

export interface Peer {
  /** The protocol version from the client's CONNECT (4 or 5); 4 until the CONNECT is read. */
  version: 4 | 5;
  /** 1 for the first connection accepted, then counting up. */
  id: number;
  send(packet: Packet): void;
  /** Writes bytes as they are (malformed packets). */
  raw(bytes: Uint8Array): void;
  /** Closes the connection in an orderly way (FIN), without DISCONNECT. */
  close(): void;
}

/** Called for every packet a client sends; a broker that answers nothing by default. */
export type Script = (packet: Packet, peer: Peer) => void;

export interface ScriptedBroker {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Every packet received, with the id of the connection it came on. */
  readonly received: { id: number; packet: Packet }[];
  close(): Promise<void>;
}

/** A CONNACK accepting the session, for scripts that let the client in first. */
export function accept(peer: Peer): void {
  peer.send({ cmd: "connack", sessionPresent: false, returnCode: 0, reasonCode: 0 } as Packet);
}

/** Starts a scripted broker; connections that say nothing get nothing, as from a port that speaks no MQTT. */
export async function startScriptedBroker(script: Script): Promise<ScriptedBroker> {
  const sockets = new Set<Socket>();
  const received: { id: number; packet: Packet }[] = [];
  let accepted = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
    const peer: Peer = {
      version: 4,
      id: ++accepted,
      send: (packet) => {
        if (!socket.destroyed) socket.write(generate(packet, { protocolVersion: peer.version }));
      },
      raw: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: () => socket.end(),
    };
    // The parser learns the protocol version from the CONNECT, as a broker does.
    const decoder = parser();
    decoder.on("packet", (packet: Packet) => {
      if (packet.cmd === "connect") peer.version = packet.protocolVersion === 5 ? 5 : 4;
      received.push({ id: peer.id, packet });
      script(packet, peer);
    });
    decoder.on("error", () => socket.destroy());
    socket.on("data", (bytes) => decoder.parse(bytes));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    received,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
