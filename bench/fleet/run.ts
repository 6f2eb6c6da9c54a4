// A real fleet in one Node process: N devices, each its own NodeHost (own sockets, timers and crypto-seeded
// random) running Tether's Client with the firmware's settings and classifier, or N MQTT.js clients, against
// mosquitto started here (the broker's log counts the connections it accepts), the embedded aedes broker, or any
// broker URL. The scenario is driven here: the broker stopped and started again on its port, its password file
// changed under it, or every device powered on at once.
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import mqtt, { type MqttClient } from "mqtt";
import { Client } from "tether/client/client";
import { startBroker } from "../../hosts/sim/node/broker";
import { MOSQUITTO, type Mosquitto, startMosquitto } from "../../tools/rigs/mosquitto";
import { NodeHost } from "../node-host";
import type { FleetOptions } from "./cli";
import { deviceConfig, settingsInEffect, shownUrl } from "./device-config";
import { type FleetResult, type Recording, summarize } from "./result";

export interface RunOptions extends FleetOptions {
  client: "tether" | "mqttjs";
}

/** One device of either kind, as the run sees it. */
interface Device {
  start(): void;
  stop(): void;
}

/** What the devices report, shared by both kinds. */
class Tally {
  readonly attempts: number[] = [];
  /** Attempts the clients saw refused (nothing listening): they never reached a broker. */
  readonly refused: number[] = [];
  /** Attempts a broker answered (a CONNACK, accepting or refusing): each one it accepted and logged first. */
  readonly answered: number[] = [];
  readonly connectedAt: Float64Array;
  connected = 0;
  /** From this time on, a device's first connection is the one measured. */
  disruption = Number.POSITIVE_INFINITY;
  reconnected = 0;
  private readonly up: Uint8Array;
  private waiter: { count: () => number; target: number; resolve: () => void } | undefined;

  constructor(n: number) {
    this.connectedAt = new Float64Array(n).fill(Number.NaN);
    this.up = new Uint8Array(n);
  }

  attempt(): void {
    this.attempts.push(performance.now());
  }

  refusal(): void {
    this.refused.push(performance.now());
  }

  answer(): void {
    this.answered.push(performance.now());
  }

  onConnected(i: number): void {
    const now = performance.now();
    if (!this.up[i]) {
      this.up[i] = 1;
      this.connected++;
    }
    if (now >= this.disruption && Number.isNaN(this.connectedAt[i]!)) {
      this.connectedAt[i] = now;
      this.reconnected++;
    }
    this.check();
  }

  onClosed(i: number): void {
    if (this.up[i]) {
      this.up[i] = 0;
      this.connected--;
    }
  }

  /** Resolves when `count()` reaches `target`, or after `ms` (then with false). */
  until(count: () => number, target: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, ms);
      this.waiter = {
        count,
        target,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(true);
        },
      };
      this.check();
    });
  }

  private check(): void {
    if (this.waiter && this.waiter.count() >= this.waiter.target) this.waiter.resolve();
  }
}

const USER = "fleet";

/** The credentials every device sends: the tool's own for its mosquitto, else the operator's `--set`, if any. */
interface Credentials {
  user?: string;
  password?: string;
}

function tetherDevice(i: number, url: string, o: RunOptions, login: Credentials, tally: Tally): Device {
  const host = new NodeHost();
  const clientId = `fleet-${process.pid}-${i}`;
  const config = deviceConfig({ broker: url, clientId, ...login }, o.overrides);
  if (typeof config === "string") throw new Error(config);
  const client = new Client(host, config, {
    observe: (event) => {
      if (event.type === "connecting") tally.attempt();
      else if (event.type === "connected") {
        tally.answer();
        tally.onConnected(i);
      } else if (event.type === "closed") {
        tally.onClosed(i);
        if (client.classify(event.cause) === "tcp_refused") tally.refusal();
        else if (event.cause.kind === "connack") tally.answer();
      }
    },
  });
  return {
    start: () => client.start(),
    stop: () => {
      client.stop("done");
      host.dispose();
    },
  };
}

function mqttjsDevice(i: number, url: string, login: Credentials, tally: Tally): Device {
  let client: MqttClient | undefined;
  return {
    start: () => {
      // reconnectOnConnackError: with its default (false) MQTT.js never retries after a refused CONNACK.
      client = mqtt.connect(url, {
        clientId: `fleet-${process.pid}-js-${i}`,
        username: login.user,
        password: login.password,
        clean: false,
        reconnectOnConnackError: true,
        connectTimeout: 10000,
      });
      tally.attempt();
      client.on("reconnect", () => tally.attempt());
      client.on("connect", () => {
        tally.answer();
        tally.onConnected(i);
      });
      client.on("close", () => tally.onClosed(i));
      client.on("error", (error) => {
        const { code } = error as { code?: unknown };
        if (code === "ECONNREFUSED") tally.refusal();
        // A refusing CONNACK: MQTT.js's error carries its return or reason code.
        else if (typeof code === "number") tally.answer();
      });
    },
    stop: () => {
      client?.end(true);
    },
  };
}

/** The broker under the tool's control, or one it only connects to. */
interface BrokerHandle {
  url: string;
  name: string;
  /** Connections accepted, timed at the broker's log; undefined when the broker does not tell. */
  accepted: number[] | undefined;
  stop(): Promise<void>;
  restart?(users?: Record<string, string>): Promise<void>;
  setUsers?(users: Record<string, string>): Promise<void>;
}

async function mosquittoBroker(users: Record<string, string>): Promise<BrokerHandle> {
  const accepted: number[] = [];
  let current: Mosquitto;
  let reloaded: (() => void) | undefined;
  const watch = (m: Mosquitto) => {
    m.onLine((line) => {
      if (line.includes(": New connection from ")) accepted.push(performance.now());
      else if (line.includes("Reloading config")) reloaded?.();
    });
    return m;
  };
  current = watch(await startMosquitto({ users }));
  const port = current.port;
  return {
    url: current.url,
    name: "mosquitto (started by the tool)",
    accepted,
    stop: () => current.stop(),
    async restart(newUsers = users) {
      await current.stop();
      current = watch(await startMosquitto({ users: newUsers, port }));
    },
    async setUsers(newUsers) {
      const done = new Promise<void>((resolve) => {
        reloaded = resolve;
      });
      current.setUsers(newUsers);
      await done;
    },
  };
}

async function openBroker(o: RunOptions, users: Record<string, string>): Promise<BrokerHandle> {
  if (o.broker === undefined && MOSQUITTO) return mosquittoBroker(users);
  if (o.broker === undefined && o.scenario !== "power-on") {
    throw new Error(`--scenario ${o.scenario} needs mosquitto (Debian: apt-get install -y mosquitto)`);
  }
  if (o.broker === undefined || o.broker === "aedes") {
    const aedes = await startBroker();
    return { url: aedes.url, name: "aedes (embedded)", accepted: undefined, stop: () => aedes.stop() };
  }
  return { url: o.broker, name: shownUrl(o.broker), accepted: undefined, stop: async () => {} };
}

/** Quiet time before the disruption and after the last device is back, so that the chart shows both. */
const SETTLE_MS = 1000;

/** Runs one scenario with one kind of client; `log` gets progress lines. */
export async function runFleet(o: RunOptions, log: (line: string) => void): Promise<FleetResult> {
  const right = randomBytes(9).toString("base64url");
  const broker = await openBroker(o, { [USER]: right });
  // Ctrl-C or a kill: the broker the tool started goes too, rather than linger on its port.
  const interrupted = () => {
    broker.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  // A mosquitto the tool started has the tool's password file.
  const login: Credentials = broker.setUsers
    ? { user: USER, password: right }
    : { user: o.overrides.mqttUser, password: o.overrides.mqttPassword };
  const tally = new Tally(o.devices);
  const devices: Device[] = [];
  const marks: Recording["marks"] = [];
  const kind = o.client === "tether" ? "Tether" : "MQTT.js";
  try {
    for (let i = 0; i < o.devices; i++) {
      devices.push(
        o.client === "tether"
          ? tetherDevice(i, broker.url, o, login, tally)
          : mqttjsDevice(i, broker.url, login, tally),
      );
    }
    let origin: number;
    if (o.scenario === "power-on") {
      log(`${kind}: ${o.devices} devices power on against ${broker.name}`);
      tally.disruption = origin = performance.now();
      for (const d of devices) d.start();
    } else {
      log(`${kind}: ${o.devices} devices connect to ${broker.name}`);
      tally.disruption = performance.now();
      for (const d of devices) d.start();
      if (!(await tally.until(() => tally.connected, o.devices, o.horizon))) {
        throw new Error(`only ${tally.connected} of ${o.devices} devices connected before the scenario`);
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      tally.disruption = performance.now();
      tally.reconnected = 0;
      tally.connectedAt.fill(Number.NaN);
      if (o.scenario === "broker-restart") {
        log(`  broker stopped, back in ${o.outage / 1000} s`);
        marks.push({ name: "broker down", at: tally.disruption });
        await broker.stop();
        await new Promise((resolve) => setTimeout(resolve, o.outage));
        await broker.restart!();
      } else {
        log(`  broker restarted with the devices' password changed; fixed in ${o.outage / 1000} s`);
        marks.push({ name: "auth broken", at: tally.disruption });
        await broker.restart!({ [USER]: randomBytes(9).toString("base64url") });
        await new Promise((resolve) => setTimeout(resolve, o.outage));
        await broker.setUsers!({ [USER]: right });
      }
      origin = performance.now();
    }
    const all = await tally.until(() => tally.reconnected, o.devices, o.horizon);
    log(
      `  ${tally.reconnected} of ${o.devices} connected ${all ? "" : "(gave up) "}after ${((performance.now() - origin) / 1000).toFixed(1)} s`,
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const from = tally.disruption;
    const after = (list: number[]) => list.filter((t) => t >= from);
    // mosquitto logs a connection when it accepts it, before it answers: every connection a client saw answered is
    // in the log read by now (the rig misses no line, those logged as it started included).
    const end = performance.now();
    const attempts = after(tally.attempts);
    const atBroker = broker.accepted ? after(broker.accepted) : undefined;
    const reached = attempts.length - after(tally.refused).length;
    const answered = after(tally.answered).length;
    const notes = [
      `one Node process on ${cpus().length} cores shared with other work (load average ${loadavg()[0]!.toFixed(1)} at the end)`,
      broker.accepted
        ? `${reached} attempts the clients saw reach a listening broker (${answered} answered), ${atBroker!.length} accepted in the broker's log`
        : `attempts at the broker counted by the clients (${reached} not refused, ${answered} answered)`,
    ];
    return summarize(
      {
        mode: "real",
        client: o.client === "tether" ? "Tether" : "MQTT.js 5 (defaults, reconnectOnConnackError)",
        scenario: o.scenario,
        broker: broker.name,
        settings: o.client === "tether" ? settingsInEffect(o.overrides) : {},
        notes,
      },
      {
        attempts,
        atBroker,
        reached,
        answered,
        connectedAt: tally.connectedAt,
        disruption: from,
        origin,
        marks,
      },
      end,
    );
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    for (const d of devices) d.stop();
    await broker.stop();
  }
}
