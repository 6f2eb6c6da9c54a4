// The floods of issue 21, kept up for a while against the firmware in the simulator, to show the budgets hold:
//   node scripts/run-ts.mjs scripts/budgets-flood.ts [minutes]   (default 10)
// Four devices at once, each with storage in a file and the default budgets:
//   commands   mosquitto, 3.1.1: every second 20 `help` commands at QoS 1 and 2 commands of 17 KB
//   sys        mosquitto, MQTT 5: every second 20 `status` commands whose Response Topic is $SYS/x (refused)
//   password   mosquitto with a password file, a wrong password retried every 100-400 ms
//   broker     a scripted broker that every 5 s sends 500 PUBACKs with unknown ids and 2,000 messages on new topics
// At the end, for each: serial log lines (total, a second on average, the most in any 10 s), flash writes (the
// store's count, and the storage file's rewrites seen by the simulator), history entries, and the budgets' lines.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectAsync, type MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { OUTPUT_PREFIX } from "tether/app/device";
import { parseLine } from "tether/diag/log";
import { SimDevice } from "../hosts/sim/node/device";
import { accept, startScriptedBroker } from "../test/helpers/scripted-broker";
import { startMosquitto } from "../tools/rigs/mosquitto";

const minutes = Number(process.argv[2] ?? 10);
const folder = mkdtempSync(join(tmpdir(), "tether-flood-"));
const FAST = { backoffBase: "100", backoffCap: "400", backoffSpread: "0", beaconInterval: "30" };

interface Run {
  name: string;
  device: SimDevice;
  file: string;
  /** Times the storage file was seen rewritten (its mtime changed between two looks, 50 ms apart): a lower bound. */
  rewrites: number;
  lastMtime: bigint;
}

async function device(name: string, broker: string, config: Record<string, string>): Promise<Run> {
  const file = join(folder, `${name}.json`);
  const sim = await SimDevice.start({ config: { ...FAST, broker, clientId: name, ...config }, storageFile: file });
  return { name, device: sim, file, rewrites: 0, lastMtime: 0n };
}

/** Types a command, then `log info` as a fence, and resolves with the first command's output. */
async function run(sim: SimDevice, command: string): Promise<string[]> {
  const from = sim.serialOutput.length;
  sim.typeLine(command);
  sim.typeLine("log info");
  await sim.waitForSerial(/^\| log level info$/m, 30000, from);
  return sim.serialOutput
    .slice(from)
    .split("\n")
    .filter((l) => l.startsWith(OUTPUT_PREFIX))
    .map((l) => l.slice(OUTPUT_PREFIX.length))
    .slice(0, -1);
}

async function main(): Promise<void> {
  const [mosquitto, passwords] = await Promise.all([startMosquitto(), startMosquitto({ users: { alice: "right" } })]);
  let bursts = 0;
  const broker = await startScriptedBroker((packet, peer) => {
    if (packet.cmd === "connect") accept(peer);
    else if (packet.cmd === "subscribe") {
      peer.send({ cmd: "suback", messageId: packet.messageId, granted: [1] } as Packet);
      const burst = () => {
        bursts++;
        for (let id = 10001; id <= 10500; id++) peer.send({ cmd: "puback", messageId: id } as Packet);
        for (let i = 0; i < 2000; i++) {
          const topic = `t/${bursts}/${i}`;
          peer.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 0, retain: false, dup: false });
        }
      };
      const timer = setInterval(burst, 5000);
      setTimeout(() => clearInterval(timer), minutes * 60000);
    } else if (packet.cmd === "pingreq") peer.send({ cmd: "pingresp" });
  });
  const runs = await Promise.all([
    device("commands", mosquitto.url, {}),
    device("sys", mosquitto.url, { mqttVersion: "5" }),
    device("password", passwords.url, { mqttUser: "alice", mqttPassword: "wrong" }),
    device("broker", broker.url, {}),
  ]);
  await Promise.all(
    runs.filter((r) => r.name !== "password").map((r) => r.device.waitForSerial(/ I mqtt subscribed /, 30000)),
  );
  const senders: MqttClient[] = await Promise.all([
    connectAsync(mosquitto.url, { reconnectPeriod: 1000 }),
    connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 1000 }),
  ]);
  const big = Buffer.alloc(17000, "a");
  const started = Date.now();
  const watch = setInterval(() => {
    for (const r of runs) {
      const mtime = statSync(r.file, { bigint: true }).mtimeNs;
      if (mtime !== r.lastMtime && r.lastMtime !== 0n) r.rewrites++;
      r.lastMtime = mtime;
    }
  }, 50);
  const flood = setInterval(() => {
    for (let i = 0; i < 20; i++) {
      senders[0].publish("tether/commands/cmd", "help", { qos: 1 });
      senders[1].publish("tether/sys/cmd", "status", { qos: 1, properties: { responseTopic: "$SYS/x" } });
    }
    senders[0].publish("tether/commands/cmd", big, { qos: 1 });
    senders[0].publish("tether/commands/cmd", big, { qos: 1 });
  }, 1000);
  const startOutput = runs.map((r) => r.device.serialOutput.length);
  await new Promise((resolve) => setTimeout(resolve, minutes * 60000));
  clearInterval(flood);
  const elapsed = (Date.now() - started) / 1000;
  // Let the last held_back and suppression summaries come out.
  await new Promise((resolve) => setTimeout(resolve, 12000));
  clearInterval(watch);
  console.log(`# ${minutes} minutes of floods (${elapsed.toFixed(0)} s), broker bursts: ${bursts}\n`);
  console.log(
    "| device | log lines | a second | most in 10 s | held back | flash writes (store) | storage rewrites (seen) | history entries | history written / repeats / held |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const [i, r] of runs.entries()) {
    const lines = r.device.serialOutput
      .slice(startOutput[i])
      .split("\n")
      .map(parseLine)
      .filter((l) => l !== undefined);
    const times = lines.map((l) => l.time);
    let most = 0;
    for (let a = 0, b = 0; b < times.length; b++) {
      while (times[b] - times[a] >= 10000) a++;
      most = Math.max(most, b - a + 1);
    }
    const held = lines
      .filter((l) => l.area === "log" && l.event === "held_back")
      .reduce((sum, l) => sum + Number(l.fields.lines), 0);
    const stats = await run(r.device, "stats");
    const history = await run(r.device, "history");
    const flash = stats.find((l) => l.startsWith("budget.flash")) ?? "";
    const hist = stats.find((l) => l.startsWith("budget.history")) ?? "";
    const writes = / writes=(\d+)/.exec(flash)?.[1];
    const [, written, repeats, hheld] = / written=(\d+) repeats=(\d+) held=(\d+)/.exec(hist) ?? [];
    console.log(
      `| ${r.name} | ${lines.length} | ${(lines.length / elapsed).toFixed(1)} | ${most} | ${held} | ${writes} | ${r.rewrites} | ${history.length - 1} | ${written} / ${repeats} / ${hheld} |`,
    );
    console.log(
      `\n${r.name}:\n${[...stats.filter((l) => l.startsWith("budget") || l.startsWith("remote") || l.startsWith("queue")), ...history].map((l) => `    ${l}`).join("\n")}\n`,
    );
  }
  await Promise.all(senders.map((s) => s.endAsync(true)));
  await Promise.all(runs.map((r) => r.device.kill()));
  await Promise.all([mosquitto.stop(), passwords.stop(), broker.close()]);
  rmSync(folder, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
