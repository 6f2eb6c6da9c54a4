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
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await device?.shutdown();
    await broker?.close();
    process.exit(code);
  };
  // Installed first: Ctrl-C while the simulator starts up must be as clean as later.
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));

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
    onSerial: (text) => process.stdout.write(text),
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
