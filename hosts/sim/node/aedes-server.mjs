// The embedded broker as a child process of its own (see broker.ts): prints `listening <port>` once it accepts
// connections. SIGTERM, or the end of stdin (the parent died), closes every client connection, then exits.

import { listenAedes } from "./aedes.mjs";

const [port = "0", host = "127.0.0.1"] = process.argv.slice(2);
const broker = await listenAedes(Number(port), host);
const stop = () => broker.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.stdin.on("end", stop).resume();
process.stdout.write(`listening ${broker.port}\n`);
