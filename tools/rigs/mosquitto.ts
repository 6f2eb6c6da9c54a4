// A real mosquitto broker, on a free 127.0.0.1 port (or a given one), with the configuration and files the caller
// gives: for tests (test/helpers/mosquitto.ts adds the jest side), the fault lab and `npm run fleet`. mosquitto drops
// root for the user `mosquitto` before reading its files, so everything is written world-readable in a
// world-traversable folder (see /work/shared/broker-facts.md), and mosquitto runs in that folder: relative file names
// in configuration lines refer to `files`.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { accessSync, chmodSync, constants, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

function findProgram(name: string): string | undefined {
  const folders = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const folder of folders) {
    try {
      accessSync(join(folder, name), constants.X_OK);
      return join(folder, name);
    } catch {}
  }
  return undefined;
}

/** Path of the mosquitto binary, or undefined when it is not installed. */
export const MOSQUITTO = findProgram("mosquitto");
export const MISSING = "mosquitto is not installed";

export interface MosquittoOptions {
  /** Configuration lines after `listener`; `allow_anonymous true` is added unless they or `users` say otherwise. */
  config?: string[];
  /** Files to write next to the configuration (name to content), for password, ACL or plugin files. */
  files?: Record<string, string>;
  /** Users and passwords, written with mosquitto_passwd to `passwd` and used as password_file; anonymous is off. */
  users?: Record<string, string>;
  /** The port to listen on (a broker started again where devices knew it); default: a free one. */
  port?: number;
}

export interface Mosquitto {
  port: number;
  /** mosquitto's process. */
  pid: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /** The folder holding the configuration and files. */
  dir: string;
  /** What mosquitto logged so far. */
  log(): string;
  /**
   * Calls `listener` with every complete line mosquitto logged so far, then with each new one as it arrives: none is
   * missed, those in the chunk that said it was running included (clients that dial as it starts are logged there).
   */
  onLine(listener: (line: string) => void): void;
  /** Rewrites the password file (as `users` at start) and makes mosquitto read it again (SIGHUP). */
  setUsers(users: Record<string, string>): void;
  /** SIGTERM: mosquitto closes its connections (without DISCONNECT) and exits; the folder is removed. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10000;

/** The brokers this process started and that still run: killed when it exits, however it exits but SIGKILL. */
const RUNNING = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of RUNNING) child.kill("SIGKILL");
});

/** Starts mosquitto and resolves once it listens. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  if (!MOSQUITTO) throw new Error(MISSING);
  const dir = mkdtempSync(join(tmpdir(), "tether-mosquitto-"));
  chmodSync(dir, 0o755);
  try {
    const config = [...(options.config ?? [])];
    for (const [name, content] of Object.entries(options.files ?? {})) writeReadable(join(dir, name), content);
    if (options.users) {
      writePasswords(join(dir, "passwd"), options.users);
      config.push("password_file passwd");
    }
    if (!config.some((line) => line.startsWith("allow_anonymous"))) {
      config.push(`allow_anonymous ${options.users ? "false" : "true"}`);
    }
    // A free port can be taken between our probe and mosquitto's bind; a few tries make that harmless.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, options.port ?? (await freePort()), config);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, port: number, config: string[]): Promise<Mosquitto> {
  writeReadable(
    join(dir, "mosquitto.conf"),
    [`listener ${port} 127.0.0.1`, "log_dest stderr", ...config, ""].join("\n"),
  );
  // A process group of its own: Ctrl-C in a terminal is for the program that started it (the lab), which stops its
  // devices before their broker (else every saved log would end with a broker_closed the teardown caused).
  // mosquitto cannot tell that its parent died, so it is killed when this process exits.
  const child = spawn(MOSQUITTO!, ["-c", "mosquitto.conf"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  RUNNING.add(child);
  const exited = once(child, "exit").then(() => void RUNNING.delete(child));
  let log = "";
  let partial = "";
  const lineListeners: ((line: string) => void)[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mosquitto did not start:\n${log}`));
    }, START_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      log += chunk;
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) for (const listener of lineListeners) listener(line);
      // Logged after every listener is open.
      if (/mosquitto version \S+ running/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`mosquitto exited at start:\n${log}`));
    });
  });
  return {
    port,
    pid: child.pid!,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log: () => log,
    onLine: (listener) => {
      for (const line of log
        .slice(0, log.length - partial.length)
        .split("\n")
        .slice(0, -1))
        listener(line);
      lineListeners.push(listener);
    },
    setUsers: (users) => {
      writePasswords(join(dir, "passwd"), users);
      child.kill("SIGHUP");
    },
    stop: async () => {
      await terminate(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited.finally(() => clearTimeout(timer));
}

function writeReadable(path: string, content: string): void {
  writeFileSync(path, content);
  chmodSync(path, 0o644);
}

/**
 * Written beside and renamed into place: mosquitto reloading (SIGHUP) while the file was being filled read a partial
 * list of users, and disconnected the clients it no longer found.
 */
function writePasswords(path: string, users: Record<string, string>): void {
  const next = `${path}.next`;
  writeReadable(next, "");
  const passwd = findProgram("mosquitto_passwd");
  if (!passwd) throw new Error("mosquitto_passwd is not installed");
  for (const [user, password] of Object.entries(users)) execFileSync(passwd, ["-b", next, user, password]);
  chmodSync(next, 0o644);
  renameSync(next, path);
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}
