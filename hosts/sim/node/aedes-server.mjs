// The embedded broker's own process: aedes on a loopback port. Started by broker.ts, which cannot load aedes (an
// ES module) into every caller (jest runs CommonJS). Prints `listening <port>` once it accepts connections. SIGTERM
// closes every client connection, then exits; so does the end of stdin, which comes when the parent dies.

import { createServer } from "node:net";
import { Aedes } from "aedes";

const [port = "0", host = "127.0.0.1"] = process.argv.slice(2);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);

function stop() {
  server.close();
  broker.close(() => process.exit(0));
}

process.once("SIGTERM", stop);
process.stdin.on("end", stop).resume();
server.listen(Number(port), host, () => process.stdout.write(`listening ${server.address().port}\n`));
