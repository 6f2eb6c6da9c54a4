// The console commands, the same on the serial port and on the command topic. Each is a small function over the
// Device; argument checking and error lines come from diag/console.

import { mqttVersion } from "tether/app/client-config";
import type { Device } from "tether/app/device";
import { goodbye, publish } from "tether/app/publish";
import { runSelfTest } from "tether/app/selftest";
import { SETTINGS, settingSpec, userPairs } from "tether/app/settings";
import { brokerName } from "tether/client/broker";
import type { Client } from "tether/client/client";
import type { Goodbye } from "tether/client/connection";
import { type Command, enumArg, intArg, type Out, qosArg, quote, UsageError } from "tether/diag/console";
import { LEVEL_NAMES, type Level } from "tether/diag/log";
import { formatBudgets, formatStats } from "tether/diag/stats";
import { toBytes } from "tether/mqtt/bytes";
import { frozen } from "tether/mqtt/frozen";
import type { Properties, QoS, Subscription } from "tether/mqtt/packets";
import { topicFilterProblem, topicNameProblem } from "tether/mqtt/topic";

/** MQTT 5 DISCONNECT reason 0x04 Disconnect with Will Message. */
const DISCONNECT_WITH_WILL = 0x04;

/** The running client, or an error naming the fix when the configuration kept it from starting. */
function client(device: Device): Client {
  if (!device.client) throw new Error("the client is not running: fix the configuration, then reboot");
  return device.client;
}

/** One constant table: built per line it would be garbage each time, kept per device it would stay on the heap. */
export const COMMANDS: readonly Command<Device>[] = frozen<Command<Device>>([
  {
    name: "status",
    usage: "",
    help: "connection state, broker, uptime, last failure",
    min: 0,
    max: 0,
    run: (_, out, device) => status(device, out),
  },
  {
    name: "stats",
    usage: "",
    help: "counters, round-trip times, traffic, heap, budgets",
    min: 0,
    max: 0,
    run: (_, out, { host, stats, store, log, history, remoteBucket }) => {
      const heap = host.heap();
      stats.heap(heap.used, heap.peak);
      for (const line of formatStats(stats.snapshot(host.now()))) out(line);
      const budgets = { flash: store.figures(), serial: log.serial(), history: history.figures() };
      for (const line of formatBudgets({ ...budgets, remote: remoteBucket.rate })) out(line);
    },
  },
  {
    name: "history",
    usage: "",
    help: "the last significant events, across reboots",
    min: 0,
    max: 0,
    run: (_, out, { history }) => {
      for (const line of history.format()) out(line);
    },
  },
  {
    name: "log",
    usage: "<error|warn|info|debug|trace>",
    help: "set the serial log level",
    min: 1,
    max: 1,
    run: ([name], out, { log }) => {
      log.level = LEVEL_NAMES.indexOf(enumArg(name, "level", LEVEL_NAMES)) as Level;
      out(`log level ${name}`);
    },
  },
  {
    name: "trace",
    usage: "<on|off>",
    help: "decoded packet trace both ways (never credentials)",
    min: 1,
    max: 1,
    run: ([on], out, device) => {
      client(device).trace = enumArg(on, "trace", ["on", "off"]) === "on";
      out(`trace ${on}`);
    },
  },
  {
    name: "diag",
    usage: "",
    help: "self-test, layer by layer: link, DNS, TCP, TLS, CONNECT, SUBSCRIBE/PUBLISH loopback, ping",
    min: 0,
    max: 0,
    run: (_, out, device) => runSelfTest(device, out),
  },
  {
    name: "reconnect",
    usage: "",
    help: "drop the connection and connect again now, with the user name and password as set now",
    min: 0,
    max: 0,
    run: (_, out, device) => {
      const { settings } = device;
      const password = settings.get("mqttPassword");
      client(device).reconnect("console", {
        username: settings.get("mqttUser") || undefined,
        password: password ? toBytes(password) : undefined,
      });
      out("reconnecting");
    },
  },
  {
    name: "reboot",
    usage: "",
    help: "restart the device now, after a goodbye to the broker: settings saved with config set apply",
    min: 0,
    max: 0,
    run: (_, out, device) => {
      const { host, log } = device;
      const restart = host.restart;
      if (!restart) throw new Error(`the ${host.platform} host cannot restart itself: reset the board`);
      out("rebooting");
      const by = device.remote ? "command_topic" : "console";
      // On the next turn: a command from the command topic is acknowledged (and answered) when its handler returns;
      // a goodbye before that would leave it unacknowledged, and the broker would deliver it again after every boot.
      host
        .timer(() => {
          goodbye(device, "reboot");
          log.info("app", "reboot", { by });
          restart.call(host);
        })
        .schedule(0);
    },
  },
  {
    name: "keepalive",
    usage: "<seconds>",
    help: "set the keep alive (from the next connection; saved)",
    min: 1,
    max: 1,
    run: ([s], out, device) => {
      const seconds = intArg(s, "seconds", 1, 65535);
      device.settings.set("keepAlive", String(seconds));
      client(device).setKeepAlive(seconds);
      out(`keepalive ${seconds} s from the next connection (reconnect to apply now)`);
    },
  },
  {
    name: "pub",
    usage: "[-r] [-q <qos>] <topic> <payload>",
    help: 'publish a message; -r retained (an empty payload "" clears the retained one); the qos may also follow the payload',
    min: 2,
    max: 5,
    run: (args, out, device) => {
      let retain = false;
      let qos: QoS | undefined;
      let i = 0;
      // Options only before the topic, so a payload such as -r is a payload.
      for (; args[i] === "-r" || args[i] === "-q"; i++) {
        if (args[i] === "-r") retain = true;
        else qos = qosArg(args[++i] ?? "");
      }
      const [topic, payload, q, extra] = args.slice(i);
      if (payload === undefined || extra !== undefined || (q !== undefined && qos !== undefined))
        throw new UsageError("say the options, then the topic and the payload");
      const problem = topicNameProblem(topic);
      if (problem) throw new UsageError(`bad topic ${quote(topic)}: ${problem}`);
      if (q !== undefined) qos = qosArg(q);
      client(device); // says so when the client is not running
      out(`pub ${publish(device, topic, payload, qos ?? 0, retain)}`);
    },
  },
  {
    name: "sub",
    usage: "<filter> [qos] [nl] [rap] [rh=0|1|2] [id=<n>] [up=<name>=<value>]",
    help: "subscribe (kept across reconnects); MQTT 5: No Local, Retain As Published, Retain Handling, Subscription Identifier, a User Property",
    min: 1,
    max: 7,
    run: ([filter, ...options], out, device) => {
      filterCheck(filter);
      const subscription: Subscription = { topicFilter: filter, qos: 0 };
      let properties: Properties | undefined;
      let v5 = false;
      for (const option of options) {
        v5 ||= !/^\d+$/.test(option);
        if (!v5) subscription.qos = qosArg(option);
        else if (option === "nl") subscription.noLocal = true;
        else if (option === "rap") subscription.retainAsPublished = true;
        else if (option.startsWith("rh=")) subscription.retainHandling = intArg(option.slice(3), "rh", 0, 2);
        else if (option.startsWith("id=")) {
          properties ??= {};
          properties.subscriptionIdentifier = [intArg(option.slice(3), "id", 1, 268435455)];
        } else if (option.startsWith("up=")) {
          properties ??= {};
          properties.userProperties = [userProperty(option)];
        } else throw new UsageError(`unknown option ${quote(option)}: qos, nl, rap, rh=N, id=N or up=name=value`);
      }
      if (v5 && mqttVersion(device.settings) !== 5) throw new UsageError("nl, rap, rh, id and up need MQTT 5");
      const id = client(device).subscribe(subscription, properties);
      out(id > 0 ? `sub sent id=${id}` : id < 0 ? "sub refused (see the warning)" : "sub saved: sent when connected");
    },
  },
  {
    name: "unsub",
    usage: "<filter> [up=<name>=<value>]",
    help: "unsubscribe (and no longer subscribe after reconnects); MQTT 5: a User Property",
    min: 1,
    max: 2,
    run: ([filter, user], out, device) => {
      filterCheck(filter);
      // Without it the device could no longer be reached over MQTT.
      if (filter === device.topics.cmd) throw new UsageError("the command topic stays subscribed");
      if (user !== undefined && mqttVersion(device.settings) !== 5) throw new UsageError("up needs MQTT 5");
      const properties = user === undefined ? undefined : { userProperties: [userProperty(user)] };
      const id = client(device).unsubscribe(filter, properties);
      out(id ? `unsub sent id=${id}` : "unsub saved: sent when connected");
    },
  },
  {
    name: "disconnect",
    usage: "[will] [expiry=<s>] [up=<name>=<value>]",
    help: "say goodbye and stay down until reconnect; MQTT 5: will asks the broker to publish the will (0x04), expiry sets the session's, up adds a User Property",
    min: 0,
    max: 3,
    run: (args, out, device) => {
      const goodbye: Goodbye = {};
      for (const arg of args) {
        if (arg === "will") goodbye.reasonCode = DISCONNECT_WITH_WILL;
        else if (arg.startsWith("expiry=")) goodbye.sessionExpiry = intArg(arg.slice(7), "expiry", 0, 4294967295);
        else if (arg.startsWith("up=")) goodbye.userProperties = [userProperty(arg)];
        else throw new UsageError(`unknown option ${quote(arg)}: will, expiry=N or up=name=value`);
      }
      if (args.length && mqttVersion(device.settings) !== 5) throw new UsageError("will, expiry and up need MQTT 5");
      client(device).stop("console", false, goodbye);
      out("disconnected: reconnect to connect again");
    },
  },
  {
    name: "config",
    usage: "get|set <key> [value]",
    help: "show or change a setting (saved; applies after reboot); secrets are write-only",
    min: 1,
    max: 3,
    run: (args, out, device) => config(device, args, out),
    more: (out) => {
      out("config get shows every setting (secrets as ***), config get <key> one of them");
      out("config set <key> <value> checks the value as the boot does and saves it; it applies after a reboot");
      out("(mqttUser and mqttPassword also at the next reconnect); the settings:");
      for (const spec of SETTINGS) {
        const range = spec.choices
          ? ` (${spec.choices.join("|")})`
          : spec.min !== undefined
            ? ` (${spec.min}..${spec.max})`
            : "";
        out(`  ${spec.key}: ${spec.help}${range}${spec.local ? ", serial console only" : ""}`);
      }
    },
  },
]);

/** Whether `name` is a console command (`help` included, which the console itself answers). */
export function isCommand(name: string): boolean {
  return name === "help" || COMMANDS.some((c) => c.name === name);
}

function status(device: Device, out: Out): void {
  const { host, client, stats, settings, lastFailure } = device;
  const now = host.now();
  const state = !client ? "stopped (config error)" : client.connected ? "connected" : "disconnected";
  out(`state=${state} client_id=${device.clientId} platform=${host.platform} link=${host.linkUp() ? "up" : "down"}`);
  if (client) {
    const b = client.broker;
    out(
      `broker=${brokerName(b)} version=${settings.get("mqttVersion")} keepalive=${client.keepAlive} up_ms=${stats.uptime(now)} inflight=${client.inflight} queued=${client.queueDepth}`,
    );
  }
  const heap = host.heap();
  // The engine collects garbage only when it runs short, so what is in use at any moment counts garbage too: it
  // varies between runs of the same state and is no measure of a leak. The peak is the heap the device has needed.
  out(`uptime_ms=${now - device.bootedAt} heap_used=${heap.used} heap_peak=${heap.peak} heap_used_includes=garbage`);
  if (lastFailure) out(`last_failure=${lastFailure.code}`);
}

function config(device: Device, args: string[], out: Out): void {
  const [verb, key, value] = args;
  const { settings } = device;
  if (verb === "get") {
    const keys = key === undefined ? SETTINGS.map((s) => s.key) : [key];
    for (const k of keys) {
      if (!settingSpec(k)) throw new UsageError(`unknown setting "${k}"`);
      out(`${k}=${settings.shown(k)}`);
    }
    return;
  }
  if (verb !== "set" || key === undefined || value === undefined)
    throw new UsageError("say get [key] or set <key> <value>");
  const spec = settingSpec(key);
  if (device.remote && spec?.local) throw new UsageError(`${key} can only be changed on the serial console`);
  if (key === "remoteCommands") {
    for (const name of value.split(",")) {
      if (name && !isCommand(name)) throw new UsageError(`remoteCommands: no command "${name}"`);
    }
  }
  const error = settings.set(key, value);
  if (error) throw new UsageError(error);
  out(`${key}=${settings.shown(key)} saved; applies after reboot`);
}

/** Throws the UsageError naming what is wrong with a topic filter, if anything. */
function filterCheck(filter: string): void {
  const problem = topicFilterProblem(filter);
  if (problem) throw new UsageError(`bad topic filter ${quote(filter)}: ${problem}`);
}

/** `up=<name>=<value>`: one MQTT 5 User Property, checked as the connectProps setting checks them. */
function userProperty(option: string): [string, string] {
  const pairs = userPairs(option.slice(3));
  if (typeof pairs === "string" || pairs.length !== 1) {
    throw new UsageError(`bad user property ${quote(option)}: up=name=value, no comma`);
  }
  return pairs[0];
}
