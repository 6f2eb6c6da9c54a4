// `npm start`: one simulated device on this computer. Its serial output is this terminal's output, typed lines are
// its serial input. Messages from the simulator itself go to stderr, prefixed `sim:`.

import { createInterface } from "node:readline";
import { listenAedes } from "./aedes.mjs";
import { parseArgs, USAGE, UsageError } from "./cli";
import { SimDevice } from "./device";

const note = (text: string) => process.stderr.write(`sim: ${text}\n`);

async function main(): Promise<void> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tether-sim: ${error.message} (see --help)\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }

  let broker: Awaited<ReturnType<typeof listenAedes>> | undefined;
  let device: SimDevice | undefined;
  let stopping = false;
  let serialGone = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await device?.shutdown();
    await broker?.close();
    if (!serialGone) process.exit(code);
    // A terminal that hung up: end as Unix ends its processes, by SIGHUP. Node's own exit would restore the
    // terminal's settings on a terminal that no longer exists, and abort.
    process.removeAllListeners("SIGHUP");
    process.kill(process.pid, "SIGHUP");
  };
  // Installed first: Ctrl-C while the simulator starts up must be as clean as later.
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  // The serial port (this terminal, or a pseudo-terminal a monitor reads) gone: reads and writes fail with EIO. The
  // device still says goodbye to the broker; nothing more is written where nobody reads; SIGHUP ends the simulator.
  const lost = (why: string) => {
    if (serialGone) return;
    serialGone = true;
    note(`serial port lost (${why}): the device shuts down`);
    void stop(0);
  };
  process.on("SIGHUP", () => lost("SIGHUP"));
  const failed = (error: NodeJS.ErrnoException) => lost(error.code ?? error.message);
  process.stdout.on("error", failed);
  process.stdin.on("error", failed);
  process.stderr.on("error", () => {});

  if (!options.config.broker) {
    broker = await listenAedes(0, "127.0.0.1");
    options.config.broker = `mqtt://127.0.0.1:${broker.port}`;
    note(`embedded broker (aedes) on ${options.config.broker}`);
    // One device and a broker of its own: no fleet to spread over the first connection's window.
    options.config.backoffSpread ??= "0";
  }
  device = await SimDevice.start({
    config: options.config,
    storageFile: options.storage,
    onSerial: (text) => {
      if (!serialGone) process.stdout.write(text);
    },
  });
  // A device that halts on its own (a fatal error in the engine) ends the simulator with an error.
  device.exited.then(() => stop(1));
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => device.typeLine(line));
  input.on("close", () => stop(0));
}

main().catch((error) => {
  process.stderr.write(`tether-sim: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
