// What a stranger can make the device spend has a budget (issue 21), against the firmware in XS, a real mosquitto
// and, for floods no real broker sends, the scripted broker: a remote sender cannot wipe the history, wear the flash
// or pass for the device's own failures; a broker cannot flood the serial port; a retry loop is one history entry;
// storage that cannot be read stops nothing.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { parseLine } from "tether/diag/log";
import { devices, type Probe, uniqueId } from "../diagnostics/helpers/device";
import { until } from "../helpers/events";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { accept, type ScriptedBroker, startScriptedBroker } from "../helpers/scripted-broker";
import { simDevices } from "../helpers/sim";

const boot = devices().boot;
const files = simDevices();
let mosquitto: Mosquitto;
let passwords: Mosquitto;
const clients: MqttClient[] = [];
const brokers: ScriptedBroker[] = [];

beforeAll(async () => {
  [mosquitto, passwords] = await Promise.all([startMosquitto(), startMosquitto({ users: { alice: "right" } })]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await Promise.all(brokers.map((b) => b.close()));
  await Promise.all([mosquitto?.stop(), passwords?.stop()]);
});

async function peer(options: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(mosquitto.url, { reconnectPeriod: 0, ...options });
  client.on("error", () => {});
  clients.push(client);
  return client;
}

/**
 * Types `command` and resolves with all its output: a second command follows it (`log info`, the level the tests
 * run at), and the console runs lines in order, so once that one has answered, the first one has said everything.
 */
async function run(device: Probe, command: string): Promise<string[]> {
  const from = device.output.length;
  device.device.typeLine(command);
  await device.command("log info", /^log level info$/);
  return device.consoleOutput(from).slice(0, -1);
}

/** Types `command` until one of its output lines satisfies `done`; resolves with that line. */
async function poll(device: Probe, command: string, done: (line: string) => boolean, ms = 20000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const line = (await run(device, command)).find(done);
    if (line !== undefined) return line;
    if (Date.now() > end) throw new Error(`${command}: no line as expected within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The `remote ...` line of `stats`, as numbers. */
function remote(line: string): Record<string, number> {
  return Object.fromEntries(
    line
      .split(" ")
      .slice(1)
      .map((kv) => kv.split("="))
      .map(([k, v]) => [k, Number(v)]),
  );
}

async function online(config: Record<string, string>, options = {}): Promise<Probe> {
  const device = await boot({ broker: mosquitto.url, beaconInterval: "0", ...config }, options);
  await device.waitForLine(/ I mqtt subscribed /);
  return device;
}

describeMosquitto("a remote sender", () => {
  test.concurrent("70 commands of 17 KB (3.1.1) are the sender's: history and last_failure stay the device's", async () => {
    const id = uniqueId("big");
    const device = await online({ clientId: id });
    const sender = await peer();
    const command = Buffer.alloc(17000, "a");
    for (let i = 0; i < 70; i++) await sender.publishAsync(`tether/${id}/cmd`, command, { qos: 1 });
    const line = await poll(device, "stats", (l) => l.startsWith("remote ") && remote(l).sender_oversized === 70);
    expect(remote(line)).toMatchObject({ run: 0, refused: 0, sender_oversized: 70 });
    const history = await run(device, "history");
    expect(history.filter((l) => l.includes("packet_too_large"))).toEqual([]);
    expect(history.some((l) => / connected /.test(l))).toBe(true);
    expect(await run(device, "status")).not.toContainEqual(expect.stringMatching(/last_failure/));
    expect(device.codes()).toEqual([]);
    expect(device.output).toMatch(/ W app command_refused reason=too_large bytes=\d+ max=16384/);
  }, 60000);

  test.concurrent("MQTT 5: replies the broker refuses on a $SYS Response Topic are the sender's", async () => {
    const id = uniqueId("sys");
    const device = await online({ clientId: id, mqttVersion: "5" });
    const sender = await peer({ protocolVersion: 5 });
    for (let i = 0; i < 70; i++) {
      await sender.publishAsync(`tether/${id}/cmd`, "status", { qos: 1, properties: { responseTopic: "$SYS/x" } });
    }
    // remoteBudget (30 a minute) runs some; each run's reply is refused by mosquitto (PUBACK 0x87).
    const line = await poll(device, "stats", (l) => {
      if (!l.startsWith("remote ")) return false;
      const r = remote(l);
      return r.run + r.refused === 70 && r.sender_denied === r.run;
    });
    expect(remote(line).run).toBeGreaterThanOrEqual(30);
    expect(remote(line).refused).toBeGreaterThan(0);
    const history = await run(device, "history");
    expect(history.filter((l) => l.includes("publish_denied"))).toEqual([]);
    expect(await run(device, "status")).not.toContainEqual(expect.stringMatching(/last_failure/));
    expect(device.codes()).toEqual([]);
    expect(device.output).toMatch(/ W app reply_denied topic=\$SYS\/x reason=135/);
  }, 60000);

  test.concurrent("replies are never stored: commands with the persistent session leave the storage alone", async () => {
    const id = uniqueId("flash");
    const storageFile = files.storageFile();
    const device = await online({ clientId: id }, { storageFile });
    const before = statSync(storageFile, { bigint: true }).mtimeNs;
    const sender = await peer();
    const replies: string[] = [];
    sender.on("message", (_, payload) => replies.push(payload.toString()));
    await sender.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    for (let i = 0; i < 25; i++) await sender.publishAsync(`tether/${id}/cmd`, "help", { qos: 1 });
    await until(() => replies.length >= 25, "25 replies");
    expect(statSync(storageFile, { bigint: true }).mtimeNs).toBe(before);
    expect((await run(device, "stats")).find((l) => l.startsWith("budget.flash"))).toMatch(/ refused=0 /);
  }, 60000);

  test.concurrent("a command flood: remoteBudget answers a minute, every refusal counted, said once a window", async () => {
    const id = uniqueId("flood");
    const device = await online({ clientId: id });
    const sender = await peer();
    const replies: string[] = [];
    sender.on("message", (_, payload) => replies.push(payload.toString()));
    await sender.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    const started = Date.now();
    const sent = 400;
    await Promise.all(Array.from({ length: sent }, () => sender.publishAsync(`tether/${id}/cmd`, "help", { qos: 1 })));
    const line = await poll(
      device,
      "stats",
      (l) => l.startsWith("remote ") && remote(l).run + remote(l).refused === sent,
    );
    const r = remote(line);
    expect(r.run).toBeGreaterThanOrEqual(30);
    expect(r.refused).toBe(sent - r.run);
    expect(r.unanswered).toBe(0);
    const elapsed = Date.now() - started;
    // Said once per 10 s window at most, the rest counted in `... N similar suppressed` lines.
    const said = device.logs().filter((l) => l.event === "command_refused" && l.suppressed === undefined);
    expect(said.length).toBeGreaterThan(0);
    expect(said.length).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 10000));
    await until(() => replies.length >= r.run, "a reply to every command run");
    expect(replies).toHaveLength(r.run);
  }, 60000);

  test.concurrent("replies the queue cannot take are counted as drops and said, not lost silently", async () => {
    const id = uniqueId("full");
    // No command budget, and room for little: the flood is answered faster than the broker acknowledges.
    const device = await online({ clientId: id, remoteBudget: "0", maxInflight: "1", queueCount: "2" });
    const sender = await peer();
    const sent = 300;
    await Promise.all(Array.from({ length: sent }, () => sender.publishAsync(`tether/${id}/cmd`, "help", { qos: 1 })));
    const line = await poll(device, "stats", (l) => l.startsWith("remote ") && remote(l).run === sent);
    const { unanswered } = remote(line);
    expect(unanswered).toBeGreaterThan(0);
    const queue = (await run(device, "stats")).find((l) => l.startsWith("queue "))!;
    expect(Number(/ drops=(\d+)/.exec(queue)![1])).toBeGreaterThanOrEqual(unanswered);
    expect(device.output).toMatch(/ W app reply_dropped result=full topic=tether\/.*\/reply/);
  }, 60000);

  test.concurrent("a wrong password retried quickly is one history entry with its count", async () => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("pw"),
      mqttUser: "alice",
      mqttPassword: "wrong",
      beaconInterval: "0",
    });
    await device.waitForLines(/ I mqtt connecting /, 6, 40000);
    const history = await run(device, "history");
    const entries = history.filter((l) => l.includes("bad_credentials"));
    expect(entries).toHaveLength(1);
    const [, count] = / bad_credentials x(\d+) /.exec(entries[0])!;
    expect(Number(count)).toBeGreaterThanOrEqual(3);
  }, 60000);
});

describe("a broker's flood", () => {
  // Forty times the burst: enough to show the budget; a flood five times this size took minutes on a busy machine.
  test.concurrent("1,000 PUBACKs with unknown ids and 3,000 messages on distinct topics stay within the serial budget", async () => {
    const flood = await startScriptedBroker((packet, peer) => {
      if (packet.cmd === "connect") accept(peer);
      else if (packet.cmd === "subscribe") {
        peer.send({ cmd: "suback", messageId: packet.messageId, granted: [1] } as Packet);
        // Ids the device has not used: it took 1 for its SUBSCRIBE.
        for (let id = 10001; id <= 11000; id++) peer.send({ cmd: "puback", messageId: id } as Packet);
        for (let i = 0; i < 3000; i++) {
          peer.send({ cmd: "publish", topic: `t/${i}`, payload: Buffer.from("x"), qos: 0, retain: false, dup: false });
        }
      } else if (packet.cmd === "pingreq") peer.send({ cmd: "pingresp" });
    });
    brokers.push(flood);
    const started = Date.now();
    const device = await boot({ broker: flood.url, clientId: uniqueId("flood"), beaconInterval: "0" });
    // Every line is accounted for: printed, or counted in a held_back line.
    const held = () =>
      device
        .logs()
        .filter((l) => l.area === "log" && l.event === "held_back")
        .map((l) => Object.fromEntries(l.fields.codes.split(",").map((c) => c.split(":"))));
    const counted = (code: string, printed: (line: string) => boolean) =>
      device.lines().filter(printed).length + held().reduce((sum, codes) => sum + Number(codes[code] ?? 0), 0);
    const unknown = (line: string) => / W mqtt warning message="PUBACK for unknown packet id/.test(line);
    const message = (line: string) => / I mqtt message topic=t\//.test(line);
    // A hang guard, not a speed: the device's rate limit is checked against the time it took, whatever that was.
    const end = Date.now() + 100000;
    while (counted("mqtt.warning", unknown) < 1000 || counted("mqtt.message", message) < 3000) {
      if (Date.now() > end) throw new Error(`not all accounted for: ${device.lines().length} lines`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const elapsed = (Date.now() - started) / 1000;
    expect(counted("mqtt.warning", unknown)).toBe(1000);
    expect(counted("mqtt.message", message)).toBe(3000);
    // serialBudget 20 a second, bursts of 100, plus the held_back lines themselves (one a 10 s window).
    const logLines = device.logs().length;
    expect(logLines).toBeLessThanOrEqual(100 + 20 * elapsed + elapsed / 10 + 1);
    const [budget] = (await run(device, "stats")).filter((l) => l.startsWith("budget.serial"));
    expect(budget).toMatch(/^budget\.serial per_second=20 printed=\d+ held=\d+$/);
  }, 120000);
});

describe("storage that cannot be read", () => {
  async function bootWith(content: string): Promise<{ device: Probe; file: string }> {
    const file = files.storageFile();
    writeFileSync(file, content);
    const device = await boot(
      { broker: mosquitto.url, clientId: uniqueId("store"), beaconInterval: "0" },
      {
        storageFile: file,
      },
    );
    return { device, file };
  }

  test.concurrent.each([
    ["a truncated file", '{"hist.b": "1 64", "cfg.clien'],
    ["null", "null"],
    ["an array", "[1, 2]"],
  ])("%s: moved aside, said once, and the device boots with empty storage", async (_, content) => {
    const { device, file } = await bootWith(content);
    await device.waitForLine(/ I mqtt connected /);
    expect(device.output.match(/\*\*\* storage: /g)).toHaveLength(1);
    expect(readFileSync(`${file}.bad`, "utf8")).toBe(content);
    expect(device.output).not.toMatch(/simulator error|halted|Error:/);
  });

  test.concurrent("values that do not parse are named once each, dropped, and the rest is used", async () => {
    const { device, file } = await bootWith(
      JSON.stringify({
        "hist.b": "1 300000",
        "hist.3": "garbage",
        "hist.4": "7 1 100 connected rtt=3ms",
        "cfg.keepAlive": 30,
        "cfg.logLevel": "loud",
        "cfg.beaconInterval": "0",
        "ses.0": "nonsense",
        "ka.tuner": "x",
      }),
    );
    await device.waitForLine(/ I mqtt connected /);
    const named = device
      .logs()
      .filter((l) => l.event === "storage_error")
      .map((l) => l.fields.name)
      .sort();
    expect(named).toEqual(["cfg.keepAlive", "cfg.logLevel", "hist.3", "hist.b", "ka.tuner", "ses.0"]);
    for (const line of device.lines().filter((l) => l.includes("storage_error"))) expect(line).toMatch(/^\d+ E app /);
    expect(device.output).not.toMatch(/simulator error|halted|config_error/);
    const kept = JSON.parse(readFileSync(file, "utf8"));
    for (const key of named) expect(kept[key] === undefined || key === "hist.b").toBe(true);
    expect(kept["hist.b"]).toBe("2 64");
    const history = await run(device, "history");
    // The boot counter was lost: the boots go on from the newest event kept.
    expect(history).toContainEqual("prev b1 100 connected rtt=3ms");
    expect(history[0]).toMatch(/ boot=2 /);
  });
});

test("status says what heap_used is", async () => {
  const device = await boot({ broker: "mqtt://127.0.0.1:1", clientId: uniqueId("heap") });
  const [line] = (await run(device, "status")).filter((l) => l.startsWith("uptime_ms"));
  expect(parseLine(`0 I x y ${line}`)?.fields).toMatchObject({ heap_used_includes: "garbage" });
});
