// The serial console of the real firmware in XS, typed line by line, against a real mosquitto with a password file:
// every command, bad commands and arguments, settings and history that survive a restart, and the password that
// never shows anywhere.

import { connect, type MqttClient } from "mqtt";
import { SETTINGS } from "tether/app/settings";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { simDevices } from "../helpers/sim";
import { devices, FAST, Probe, uniqueId } from "./helpers/device";

const boot = devices().boot;
const storage = simDevices();
const PASSWORD = "Pw-s3cret-42";
let mosquitto: Mosquitto;
const peers: MqttClient[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto({ users: { alice: PASSWORD, bob: "bobs-password" } });
  // MQTT.js loads its transports on the first connect; jest 30 refuses a require while no test is running, which
  // happens between concurrent tests.
  await peer();
});

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.endAsync(true)));
  await mosquitto?.stop();
});

/** An MQTT.js client logged in as bob, with everything it receives; resolves once connected. */
async function peer(): Promise<{ client: MqttClient; received: { topic: string; text: string }[] }> {
  const client = connect(mosquitto.url, { username: "bob", password: "bobs-password", reconnectPeriod: 0 });
  client.on("error", () => {});
  peers.push(client);
  const received: { topic: string; text: string }[] = [];
  client.on("message", (topic, payload) => received.push({ topic, text: payload.toString() }));
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return { client, received };
}

/** A device logged in as alice, connected and subscribed to its command topic. */
async function connected(config: Record<string, string> = {}): Promise<Probe> {
  const device = await boot({ broker: mosquitto.url, mqttUser: "alice", mqttPassword: PASSWORD, ...config });
  await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
  return device;
}

describeMosquitto("serial console", () => {
  test.concurrent("help lists every command with its usage", async () => {
    const device = await connected({ clientId: uniqueId("help") });
    const help = await device.command("help", /^help \[command\]/);
    const names = help.map((line) => line.split(" ")[0]);
    expect(names).toEqual([
      ...["status", "stats", "history", "log", "trace", "diag", "reconnect", "reboot", "keepalive", "pub", "sub"],
      "unsub",
      "disconnect",
      "config",
      "help",
    ]);
    expect(await device.command("help pub", /pub/)).toEqual([
      'pub [-r] [-q <qos>] <topic> <payload> - publish a message; -r retained (an empty payload "" clears the retained one); the qos may also follow the payload',
    ]);
    // help config says what the usage line cannot: how a change applies, and every key with its range.
    const config = await device.command("help config", /^ {2}password: /);
    expect(config[0]).toMatch(/^config get\|set <key> \[value\] - /);
    expect(config.filter((line) => line.startsWith("config get|set"))).toHaveLength(1);
    expect(config).toContain("  keepAlive: keep alive in seconds (1..65535)");
    expect(config).toContainEqual(expect.stringMatching(/^ {2}mqttPassword: MQTT password, serial console only$/));
    expect(config.filter((line) => line.startsWith("  "))).toHaveLength(SETTINGS.length);
    device.expectNames([]);
  });

  test.concurrent("status and stats describe the connection", async () => {
    const id = uniqueId("status");
    const device = await connected({ clientId: id });
    const status = await device.command("status", /uptime_ms=/);
    expect(status[0]).toBe(`state=connected client_id=${id} platform=sim link=up`);
    expect(status[1]).toMatch(
      new RegExp(`^broker=${mosquitto.url} version=3\\.1\\.1 keepalive=60 up_ms=\\d+ inflight=\\d queued=0$`),
    );
    expect(status[2]).toMatch(/^uptime_ms=\d+ heap_used=\d+ heap_peak=\d+ heap_used_includes=garbage$/);
    await device.command("pub stats/test hello 1", /pub sent/);
    const stats = await device.command("stats", /^heap /);
    expect(stats[0]).toMatch(/^conn attempts=1 ok=1 failed=0 lost=0 up=\d+ longest=\d+$/);
    expect(stats).toContainEqual(expect.stringMatching(/^rtt\.connect n=1 min=\d+ mean=\d+ max=\d+ p95=\d+$/));
    // The status beacon at connect and the message published.
    expect(stats).toContainEqual(expect.stringMatching(/^out q0=0 q1=2 q2=0 bytes\.q0=0 bytes\.q1=\d{3} bytes\.q2=0$/));
    expect(stats[stats.length - 1]).toMatch(/^heap used=[1-9]\d* peak=[1-9]\d*$/);
    device.expectNames([]);
  });

  test.concurrent("log <level> changes what is printed at run time", async () => {
    const device = await connected({ clientId: uniqueId("log") });
    expect(await device.command("log debug", /log level/)).toEqual(["log level debug"]);
    const debug = device.output.length;
    await device.command("reconnect", /reconnecting/);
    await device.waitForLine(/ D tcp connected ms=\d+/, 20000, debug);
    await device.waitForLine(/ I mqtt connected /, 20000, debug);
    expect(await device.command("log warn", /log level/)).toEqual(["log level warn"]);
    const quiet = device.output.length;
    await device.command("reconnect", /reconnecting/);
    // The new connection shows in status only: its lines are below the level now.
    await waitFor(async () => (await device.command("status", /uptime_ms/))[0].startsWith("state=connected"));
    expect(device.logs(quiet).filter((line) => line.level > 1)).toEqual([]);
    device.expectNames([]);
  });

  test.concurrent("trace on|off: a decoded packet trace both ways, then none", async () => {
    const device = await connected({ clientId: uniqueId("trace") });
    expect(await device.command("trace on", /trace/)).toEqual(["trace on"]);
    const from = device.output.length;
    await device.command("pub trace/test hello-trace 1", /pub sent/);
    const out = await device.waitForLine(/ I trace out type=PUBLISH /, 20000, from);
    expect(out).toMatch(/ size=\d+ id=(\d+) qos=1 topic=trace\/test payload=hello-trace$/);
    const id = / id=(\d+)/.exec(out)![1];
    // A 3.1.1 PUBACK is 4 bytes on the wire: fixed header, remaining length, packet id.
    await device.waitForLine(new RegExp(` I trace in type=PUBACK size=4 id=${id}`), 20000, from);
    expect(await device.command("trace off", /trace/)).toEqual(["trace off"]);
    const off = device.output.length;
    await device.command("pub trace/test quiet 1", /pub sent/);
    await device.command("reconnect", /reconnecting/);
    await device.waitForLine(/ I mqtt connected /, 20000, off);
    expect(device.logs(off).filter((line) => line.area === "trace")).toEqual([]);
    device.expectNames([]);
  });

  test.concurrent("reconnect, keepalive <s>, pub and sub work against a peer", async () => {
    const id = uniqueId("cmds");
    const device = await connected({ clientId: id });
    const { client, received } = await peer();
    await client.subscribeAsync(`${id}/out`, { qos: 1 });
    expect(await device.command(`pub ${id}/out "hello there" 1`, /pub/)).toEqual(["pub sent"]);
    await waitFor(() => received.some((m) => m.topic === `${id}/out` && m.text === "hello there"));

    expect(await device.command(`sub ${id}/in/+ 1`, /sub/)).toEqual([expect.stringMatching(/^sub sent id=\d+$/)]);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/in/\\+ codes=1`));
    await client.publishAsync(`${id}/in/a`, "ping!", { qos: 1 });
    await device.waitForLine(new RegExp(` I mqtt message topic=${id}/in/a qos=1 bytes=5`));

    expect(await device.command("keepalive 7", /keepalive/)).toEqual([
      "keepalive 7 s from the next connection (reconnect to apply now)",
    ]);
    const from = device.output.length;
    expect(await device.command("reconnect", /reconnecting/)).toEqual(["reconnecting"]);
    await device.waitForLine(/ I mqtt closed reason=console/, 20000, from);
    await device.waitForLine(/ I mqtt connected session=resumed keepalive=7 /, 20000, from);
    // The subscription is kept across the reconnect.
    await client.publishAsync(`${id}/in/b`, "again", { qos: 1 });
    await device.waitForLine(new RegExp(` I mqtt message topic=${id}/in/b qos=1 bytes=5`));
    device.expectNames([]);
  });

  test.concurrent("pub -r -q N publishes retained with that QoS; unsub stops deliveries, also after a reconnect", async () => {
    const id = uniqueId("retain");
    const device = await connected({ clientId: id });
    const usage = "usage: pub [-r] [-q <qos>] <topic> <payload>";
    for (const [line, error] of [
      [`pub -q 3 ${id}/r x`, `error: qos must be an integer from 0 to 2, not 3; ${usage}`],
      [`pub -r ${id}/r`, `error: say the options, then the topic and the payload; ${usage}`],
      [`pub -q 1 ${id}/r x 2`, `error: say the options, then the topic and the payload; ${usage}`],
      [`pub -q`, `error: pub takes 2 to 5 arguments; ${usage}`],
      [
        `unsub ${id}/#/x`,
        `error: bad topic filter ${id}/#/x: + must fill a whole level, # must be the last level, a $share/ name needs a name and a filter; usage: unsub <filter> [up=<name>=<value>]`,
      ],
      [
        `unsub tether/${id}/cmd`,
        "error: the command topic stays subscribed; usage: unsub <filter> [up=<name>=<value>]",
      ],
    ]) {
      expect(await device.command(line, /error/)).toEqual([error]);
    }
    await device.command("trace on", /trace/);
    const sent = device.output.length;
    expect(await device.command(`pub -r -q 1 ${id}/r "kept -r"`, /pub/)).toEqual(["pub sent"]);
    const out = await device.waitForLine(/ I trace out type=PUBLISH .*topic=.*\/r /, 20000, sent);
    expect(out).toMatch(/ qos=1 retain=1 /);
    // Stored by the broker once acknowledged.
    await device.waitForLine(new RegExp(` I trace in type=PUBACK size=4 id=${/ id=(\d+)/.exec(out)![1]}`), 20000, sent);
    await device.command("trace off", /trace/);
    // A subscriber that comes later gets it as a retained message, with the QoS asked for.
    const { client } = await peer();
    const retained = new Promise<{ text: string; qos: number; retain: boolean }>((resolve) =>
      client.on("message", (topic, payload, packet) => {
        if (topic === `${id}/r`) resolve({ text: payload.toString(), qos: packet.qos, retain: packet.retain });
      }),
    );
    await client.subscribeAsync(`${id}/r`, { qos: 2 });
    expect(await retained).toEqual({ text: "kept -r", qos: 1, retain: true });

    await device.command(`sub ${id}/in/# 0`, /sub sent/);
    await device.command(`sub ${id}/mark 0`, /sub sent/);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=${id}/mark `));
    expect(await device.command(`unsub ${id}/in/#`, /unsub/)).toEqual([expect.stringMatching(/^unsub sent id=\d+$/)]);
    await device.waitForLine(/ I mqtt unsubscribed id=\d+$/);
    const from = device.output.length;
    await device.command("reconnect", /reconnecting/);
    await device.waitForLine(/ I mqtt connected /, 20000, from);
    // In order on one connection: once the mark arrives, the message before it would have.
    await client.publishAsync(`${id}/in/a`, "gone");
    await client.publishAsync(`${id}/mark`, "here");
    await device.waitForLine(new RegExp(` I mqtt message topic=${id}/mark `), 20000, from);
    expect(device.output.slice(from)).not.toContain(`topic=${id}/in/a`);
    device.expectNames([]);
  });

  test.concurrent("bad commands and arguments get one usage line, and the device still answers", async () => {
    const device = await connected({ clientId: uniqueId("bad") });
    const cases: [string, string][] = [
      ["bogus", "error: unknown command bogus; type help for the list"],
      ["log", "error: log takes 1 argument; usage: log <error|warn|info|debug|trace>"],
      [
        "log loud",
        "error: level must be one of error|warn|info|debug|trace, not loud; usage: log <error|warn|info|debug|trace>",
      ],
      ["trace maybe", "error: trace must be one of on|off, not maybe; usage: trace <on|off>"],
      ["keepalive 0", "error: seconds must be an integer from 1 to 65535, not 0; usage: keepalive <seconds>"],
      ["keepalive soon", "error: seconds must be an integer from 1 to 65535, not soon; usage: keepalive <seconds>"],
      [
        "pub a/# x",
        "error: bad topic a/#: a wildcard (+ or #) in a topic name; usage: pub [-r] [-q <qos>] <topic> <payload>",
      ],
      ["pub a/b x 3", "error: qos must be an integer from 0 to 2, not 3; usage: pub [-r] [-q <qos>] <topic> <payload>"],
      [
        "sub",
        "error: sub takes 1 to 7 arguments; usage: sub <filter> [qos] [nl] [rap] [rh=0|1|2] [id=<n>] [up=<name>=<value>]",
      ],
      [
        "sub a/#/b",
        "error: bad topic filter a/#/b: + must fill a whole level, # must be the last level, a $share/ name needs a name and a filter; usage: sub <filter> [qos] [nl] [rap] [rh=0|1|2] [id=<n>] [up=<name>=<value>]",
      ],
      ["status now", "error: status takes 0 arguments; usage: status"],
      ['pub "open', "error: unterminated quote"],
      ["config frob", "error: say get [key] or set <key> <value>; usage: config get|set <key> [value]"],
      ["config get nope", 'error: unknown setting "nope"; usage: config get|set <key> [value]'],
      [
        "config set keepAlive -1",
        "error: keepAlive=-1: must be a whole number from 1 to 65535; usage: config get|set <key> [value]",
      ],
      ["help nope", "error: no command nope"],
      // Settings that would leave the device unable to work after the reboot are refused, by their meaning.
      [
        'config set broker ""',
        'error: broker="": broker list is empty: give at least one mqtt://host:port; usage: config get|set <key> [value]',
      ],
      [
        "config set broker junk://x",
        'error: broker=junk://x: malformed broker URL "junk://x": expected mqtt://host:port, mqtts://host:port, ws://host:port/path or wss://host:port/path; usage: config get|set <key> [value]',
      ],
      [
        "config set topicPrefix a/+/#",
        "error: topicPrefix=a/+/#: must be one topic level: no /; usage: config get|set <key> [value]",
      ],
      [
        "config set clientId a\\x00b",
        'error: clientId="a\\x00b": must be one topic level that brokers accept, not a control character U+0000 at character 2; usage: config get|set <key> [value]',
      ],
      [
        "config set backoffBase 1000",
        "error: backoffCap=400: must not be below backoffBase=1000; usage: config get|set <key> [value]",
      ],
    ];
    for (const [line, error] of cases) {
      expect([line, await device.command(line, /error/)]).toEqual([line, [error]]);
      expect((await device.command("status", /uptime_ms=/))[0]).toMatch(/^state=connected /);
    }
    expect(device.device.running).toBe(true);
    // Nothing refused was saved.
    expect(await device.command("config get topicPrefix", /topicPrefix/)).toEqual(["topicPrefix=tether"]);
    expect(await device.command("config get backoffBase", /backoffBase/)).toEqual(["backoffBase=100"]);
    device.expectNames([]);
  });
});

describeMosquitto("serial line limits", () => {
  test.concurrent("a line over 256 characters is refused with one line; NUL is fine in a payload", async () => {
    const id = uniqueId("line");
    const device = await connected({ clientId: id });
    const { client, received } = await peer();
    await client.subscribeAsync(`${id}/#`, { qos: 1 });
    const from = device.output.length;
    const long = `pub ${id}/long ${"y".repeat(300)} 1`;
    device.device.typeLine(long);
    await device.device.waitForSerial(/\*\*\* serial: line refused: (\d+) characters, the console takes at most 256\n/);
    expect(device.output.slice(from)).toContain(`line refused: ${long.length} characters`);
    expect(await device.command(`pub ${id}/nul a\\x00b 1`, /pub/)).toEqual(["pub sent"]);
    await waitFor(() => received.some((m) => m.topic === `${id}/nul`));
    expect(received.filter((m) => m.topic.startsWith(`${id}/`))).toEqual([{ topic: `${id}/nul`, text: "a\u0000b" }]);
    expect(device.consoleOutput(from)).toEqual(["pub sent"]);
  });
});

describeMosquitto("settings and history across a restart", () => {
  test("config set is saved; the password is write-only; history keeps the last boot's events", async () => {
    const file = storage.storageFile();
    const id = uniqueId("persist");
    const config = { ...FAST, broker: mosquitto.url, clientId: id, mqttUser: "alice", mqttPassword: "not-the-pw" };
    const first = new Probe(await storage.start({ config, storageFile: file }));
    await first.waitForCode("bad_credentials");
    expect(await first.command(`config set mqttPassword ${PASSWORD}`, /mqttPassword/)).toEqual([
      "mqttPassword=*** saved; applies after reboot",
    ]);
    expect(await first.command("config set keepAlive 33", /keepAlive/)).toEqual([
      "keepAlive=33 saved; applies after reboot",
    ]);
    expect(await first.command("config get mqttPassword", /mqttPassword/)).toEqual(["mqttPassword=***"]);
    await first.device.shutdown();

    const second = new Probe(await storage.start({ config, storageFile: file }));
    await second.waitForLine(/ I mqtt connected .*keepalive=33 /);
    expect(await second.command("config get keepAlive", /keepAlive/)).toEqual(["keepAlive=33"]);
    expect(await second.command("config get mqttPassword", /mqttPassword/)).toEqual(["mqttPassword=***"]);
    const history = await second.command("history", /connected/);
    expect(history[0]).toMatch(/^history events=\d+ boot=2 /);
    expect(history).toContainEqual(expect.stringMatching(/^prev b1 \d+ boot sim /));
    expect(history).toContainEqual(
      expect.stringMatching(/^prev b1 \d+ bad_credentials .*reason="0x05 Connection Refused, not authorized" user=set/),
    );
    expect(history).toContainEqual(expect.stringMatching(/^this b2 \d+ boot sim /));
    expect(history[history.length - 1]).toMatch(/^this b2 \d+ connected rtt=\d+ms$/);
    for (const probe of [first, second]) expect(probe.output).not.toContain(PASSWORD);
    second.expectNames([]);
    first.expectNames(["bad_credentials"]);
  });
});

describeMosquitto("secrets", () => {
  test("the password never appears: serial, trace, status, config, stats, history, diag, beacon, replies", async () => {
    const id = uniqueId("secret");
    const { client, received } = await peer();
    await client.subscribeAsync(`tether/${id}/#`, { qos: 1 });
    // config is allowed on the command topic here: what it shows must still hide the password.
    const device = await connected({ clientId: id, beaconInterval: "1", remoteCommands: "config" });
    device.device.typeLine("trace on");
    for (const [command, last] of [
      ["status", /uptime_ms/],
      ["config get", /heapLimit/],
      ["config get mqttPassword", /mqttPassword/],
      ["stats", /^heap /],
      ["history", /connected/],
      ["diag", /diag done/],
    ] as const) {
      await device.command(command, last, 20000);
    }
    // Over the command topic too, including an attempt to set a new password (refused there) while the trace shows
    // the command arriving.
    const NEW = "N3w-pw-77";
    await client.publishAsync(`tether/${id}/cmd`, "config get mqttPassword", { qos: 1 });
    await client.publishAsync(`tether/${id}/cmd`, `config set mqttPassword ${NEW}`, { qos: 1 });
    await waitFor(() => received.filter((m) => m.topic === `tether/${id}/reply`).length >= 2);
    await waitFor(() => received.some((m) => m.topic === `tether/${id}/status` && m.text.includes('"up"')));
    await device.waitForLine(/ I trace in type=PUBLISH .*payload="config set mqttPassword \*\*\*"/);
    expect(received.filter((m) => m.topic === `tether/${id}/reply`).map((m) => m.text)).toEqual([
      "mqttPassword=***",
      "error: mqttPassword can only be changed on the serial console; usage: config get|set <key> [value]",
    ]);
    expect(device.output).toContain("| diag done");
    for (const secret of [PASSWORD, NEW]) {
      expect(device.output).not.toContain(secret);
      // What the device published (the peer's own commands on /cmd excepted).
      for (const message of received.filter((m) => !m.topic.endsWith("/cmd")))
        expect(message.text).not.toContain(secret);
    }
    device.expectNames([]);
  });
});

describeMosquitto("commands over MQTT", () => {
  test.concurrent("commands on tether/<id>/cmd are answered on tether/<id>/reply", async () => {
    const id = uniqueId("remote");
    const device = await connected({ clientId: id, remoteCommands: "status,keepalive,diag" });
    const { client, received } = await peer();
    await client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    const replies = () => received.filter((m) => m.topic === `tether/${id}/reply`).map((m) => m.text);
    const ask = async (command: string, count: number) => {
      await client.publishAsync(`tether/${id}/cmd`, command, { qos: 1 });
      await waitFor(() => replies().length >= count);
      return replies()[count - 1];
    };
    expect(await ask("status", 1)).toMatch(new RegExp(`^state=connected client_id=${id} .*\\nbroker=.*\\nuptime_ms=`));
    expect(await ask("bogus", 2)).toBe("error: unknown command bogus; type help for the list");
    expect(await ask("keepalive x", 3)).toBe(
      "error: seconds must be an integer from 1 to 65535, not x; usage: keepalive <seconds>",
    );
    expect(await ask("help", 4)).toMatch(/^status - .*\nhelp \[command\] - list the commands, or show one$/s);
    // The self-test answers step by step, as its steps complete.
    await client.publishAsync(`tether/${id}/cmd`, "diag", { qos: 1 });
    await waitFor(() => replies().some((text) => text.startsWith("diag done")), 20000);
    expect(replies().slice(4, 6)).toEqual([
      expect.stringMatching(/^diag start broker=mqtt:\/\/127\.0\.0\.1:\d+\ndiag link ok \d+ms\ndiag dns ok/),
      expect.stringMatching(/^diag tcp ok \d+ms 127\.0\.0\.1$/),
    ]);
    expect(device.consoleOutput()).toEqual([]);
    device.expectNames([]);
  });
});

describeMosquitto("reboot", () => {
  test.concurrent("on the console: a goodbye (DISCONNECT), a new boot, and the settings saved before apply", async () => {
    const id = uniqueId("reboot");
    const device = await connected({ clientId: id });
    await device.command("config set keepAlive 30", /saved/);
    expect(await device.command("reboot", /rebooting/)).toEqual(["rebooting"]);
    await device.waitForLine(/ I app boot .*boot=2/);
    await device.waitForLine(/ I mqtt connected .*keepalive=30 /);
    expect(device.output).toMatch(/ I mqtt closed reason=reboot\n\d+ I app reboot by=console\n\d+ I app boot /);
    expect(device.output).not.toContain("*** device halted");
    await waitFor(() => new RegExp(`Client ${id} disconnected\\.`).test(mosquitto.log()));
    device.expectNames([]);
  });

  test.concurrent("from the command topic only when remoteCommands lists it; acknowledged first, so done once", async () => {
    const { client, received } = await peer();
    const refusing = uniqueId("noreboot");
    await connected({ clientId: refusing });
    await client.subscribeAsync(`tether/${refusing}/reply`, { qos: 1 });
    await client.publishAsync(`tether/${refusing}/cmd`, "reboot", { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === `tether/${refusing}/reply`));
    expect(received.find((m) => m.topic === `tether/${refusing}/reply`)!.text).toMatch(/^error: .*reboot/);

    const id = uniqueId("rreboot");
    const device = await connected({ clientId: id, remoteCommands: "status,reboot" });
    await client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    await client.publishAsync(`tether/${id}/cmd`, "reboot", { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === `tether/${id}/reply` && m.text === "rebooting"));
    await device.waitForLine(/ I app reboot by=command_topic/);
    await device.waitForLine(/ I app boot .*boot=2/);
    await device.waitForLine(/ I mqtt connected session=resumed /, 10000, device.output.lastIndexOf(" boot=2"));
    // The session resumed: a reboot command delivered again would come before this status's reply.
    await client.publishAsync(`tether/${id}/cmd`, "status", { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === `tether/${id}/reply` && m.text.startsWith("state=")));
    expect(device.output).not.toMatch(/boot=3/);
  });
});

/** Resolves once `condition` holds, checking every 20 ms; rejects after `ms`. */
async function waitFor(condition: () => boolean | Promise<boolean>, ms = 20000): Promise<void> {
  for (const end = Date.now() + ms; !(await condition()); ) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
