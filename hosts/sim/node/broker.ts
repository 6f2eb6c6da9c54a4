// An embedded MQTT broker (aedes) on 127.0.0.1 for `npm start` and tests, in a child process of its own, as a real
// broker would be: stopping it closes its connections like a broker going down, killing it is a crash.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

const SERVER = resolve("hosts/sim/node/aedes-server.mjs");
const START_TIMEOUT_MS = 10000;

export interface EmbeddedBroker {
  port: number;
  /** The broker's process. */
  pid: number;
  /** `mqtt://127.0.0.1:<port>`, ready for the `broker` setting. */
  url: string;
  /** Orderly stop: every client connection is closed (without DISCONNECT, as brokers do), then the process exits. */
  stop(): Promise<void>;
  /** Crash: the process dies at once. */
  kill(): Promise<void>;
}

/** Starts aedes on 127.0.0.1; port 0 (the default) takes a free port. Resolves once it accepts connections. */
export async function startBroker(port = 0): Promise<EmbeddedBroker> {
  // A process group of its own: Ctrl-C in a terminal is for the program that started it (the lab, `npm start`),
  // which stops its devices before their broker; the broker leaves when told, or when its stdin ends with us.
  const child = spawn(process.execPath, [SERVER, String(port), "127.0.0.1"], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const exited = once(child, "exit").then(() => {});
  let output = "";
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aedes did not start:\n${output}`)), START_TIMEOUT_MS);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`aedes exited before listening:\n${output}`));
    });
  });
  const actualPort = await listening.catch((error) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    port: actualPort,
    pid: child.pid!,
    url: `mqtt://127.0.0.1:${actualPort}`,
    stop: () => signal(child, "SIGTERM", exited),
    kill: () => signal(child, "SIGKILL", exited),
  };
}

/** Sends the signal; a broker that does not stop within a few seconds is killed. */
function signal(child: ChildProcess, name: NodeJS.Signals, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill(name);
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  return exited.finally(() => clearTimeout(timer));
}
