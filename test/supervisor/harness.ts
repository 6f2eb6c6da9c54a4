// Shared pieces of the supervisor tests: the firmware in XS (SimDevice) behind the fault proxy, real brokers, a real
// MQTT.js peer, and readers for the device's own log lines, whose timestamps are the device's clock.

import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { type ParsedLine, parseLine } from "tether/diag/log";
import type { SimDevice } from "../../hosts/sim/node/device";
import { startAedes } from "../../tools/rigs/aedes";
import { FaultProxy, type ProxyEvent } from "../../tools/rigs/fault-proxy";
import { next } from "../helpers/events";
import { MOSQUITTO, type Mosquitto, type MosquittoOptions, startMosquitto } from "../helpers/mosquitto";

export { collect } from "../helpers/peer";

/** A broker under test, whichever it is. */
export interface TestBroker {
  kind: "mosquitto" | "aedes";
  port: number;
  url: string;
  stop(): Promise<void>;
}

export type BrokerKind = TestBroker["kind"];

/** The brokers the fault tests run against: aedes always, mosquitto where installed (see helpers/mosquitto). */
export const BROKERS: BrokerKind[] = MOSQUITTO ? ["mosquitto", "aedes"] : ["aedes"];

/**
 * How long a test waits for an event before it calls the run hung. Waits end on the event, never on a time the
 * product must meet: a busy machine may take long, and timing claims rest on the device's own log (its decisions,
 * its clock) or on orderings instead.
 */
export const WAIT = 20000;

export async function startTestBroker(kind: BrokerKind, options: MosquittoOptions = {}): Promise<TestBroker> {
  if (kind === "aedes") return { kind, ...(await startAedes()) };
  return { kind, ...(await startMosquitto(options)) };
}

/** A broker that a test restarts, losing every session it held (neither keeps them on disk here). */
export interface RestartableBroker {
  kind: BrokerKind;
  /** Where it listens now. */
  readonly port: number;
  /** aedes restarts on its port; mosquitto (whose helper picks the port) is replaced behind the proxy. */
  restart(proxy: FaultProxy): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartable(kind: BrokerKind): Promise<RestartableBroker> {
  if (kind === "aedes") {
    const aedes = await startAedes();
    return { kind, port: aedes.port, restart: () => aedes.restart(), stop: () => aedes.stop() };
  }
  let current: Mosquitto = await startMosquitto();
  return {
    kind,
    get port() {
      return current.port;
    },
    async restart(proxy) {
      const next = await startMosquitto();
      proxy.retarget({ host: "127.0.0.1", port: next.port });
      const old = current;
      current = next;
      await old.stop();
    },
    stop: () => current.stop(),
  };
}

/**
 * Settings for a device in these tests: fast retries, short timeouts, no status beacon (its traffic would blur what
 * a test measures), a client id of its own.
 */
export function deviceConfig(clientId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    clientId,
    keepAlive: "5",
    beaconInterval: "0",
    backoffBase: "300",
    backoffCap: "3000",
    connectTimeout: "2000",
    connackTimeout: "2000",
    ...extra,
  };
}

/** Types a command and waits for the reply it causes, searching only output written after it. */
export function command(device: SimDevice, line: string, reply: RegExp, timeoutMs = WAIT): Promise<RegExpExecArray> {
  const from = device.serialOutput.length;
  device.typeLine(line);
  return device.waitForSerial(reply, timeoutMs, from);
}

/** The device's log lines (from serial offset `from`) of one area and event. */
export function logLines(device: SimDevice, area: string, event: string, from = 0): ParsedLine[] {
  const lines: ParsedLine[] = [];
  for (const text of device.serialOutput.slice(from).split("\n")) {
    const line = parseLine(text);
    if (line && line.area === area && line.event === event && line.suppressed === undefined) lines.push(line);
  }
  return lines;
}

/** Serial offset now, to wait for what comes next. */
export const mark = (device: SimDevice): number => device.serialOutput.length;

/** The counters of the `stats` command that these tests read. */
export interface DeviceStats {
  attempts: number;
  /** Connections the broker accepted since boot. */
  ok: number;
  /** Attempts that failed before the broker accepted them; accepted connections a failure ended. */
  failed: number;
  lost: number;
  drops: number;
  heapUsed: number;
  heapPeak: number;
}

/**
 * Reads the counters with the `stats` command. The log is no signal for "connected again": its rate limit holds
 * back a line identical to a recent one (a second `mqtt connected session=new ...`), the counters never lie.
 */
export async function stats(device: SimDevice): Promise<DeviceStats> {
  const from = mark(device);
  await command(device, "stats", /heap used=\d+ peak=\d+\n/);
  const text = device.serialOutput.slice(from);
  const number = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    attempts: number(/conn attempts=(\d+)/),
    ok: number(/conn attempts=\d+ ok=(\d+)/),
    failed: number(/ failed=(\d+)/),
    lost: number(/ lost=(\d+)/),
    drops: number(/ drops=(\d+)/),
    heapUsed: number(/heap used=(\d+)/),
    heapPeak: number(/heap used=\d+ peak=(\d+)/),
  };
}

/** Polls `probe` every 100 ms until it returns a value; rejects after `timeoutMs`, naming `what`. */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the broker has accepted the device `n` times since boot and it is connected now. */
export function connections(device: SimDevice, n: number, timeoutMs = WAIT): Promise<DeviceStats> {
  return poll(
    async () => {
      const s = await stats(device);
      if (s.ok < n) return undefined;
      const [state] = await command(device, "status", /state=\S+/);
      return state === "state=connected" ? s : undefined;
    },
    timeoutMs,
    `connection number ${n}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; serial ends with:\n${device.serialOutput.slice(-3000)}`);
  });
}

/** Starts a proxy to `port` that a test closes with `closeAll`. */
export async function proxyTo(port: number, proxies: FaultProxy[]): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ host: "127.0.0.1", port });
  proxies.push(proxy);
  return proxy;
}

/**
 * With `trace on` and the proxy blackholing: waits until the proxy has swallowed every packet the device traced as
 * sent since serial offset `from`, so that un-blackholing cannot let one of them through after all.
 */
export function swallowed(device: SimDevice, proxy: FaultProxy, from: number): Promise<number> {
  const bytes = logLines(device, "trace", "out", from).reduce((sum, line) => sum + Number(line.fields.size), 0);
  return poll(async () => (proxy.dropped >= bytes ? bytes : undefined), WAIT, `${bytes} bytes swallowed`);
}

/** Host times (Date.now()) of the proxy's `event`s from now on: every TCP connection it accepts, in any mode. */
export function record(proxy: FaultProxy, event: ProxyEvent): number[] {
  const times: number[] = [];
  proxy.on(event, () => times.push(Date.now()));
  return times;
}

export function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

/** MQTT.js peers, ended after each test by `endAll`. */
export class Peers {
  private readonly clients: MqttClient[] = [];

  /** A client of `port` (reconnect off), connected; rejects when it is not within `timeoutMs`. */
  async connect(port: number, options: IClientOptions = {}, timeoutMs = WAIT): Promise<MqttClient> {
    const client = this.open(port, options);
    await next(client, "connect", timeoutMs);
    return client;
  }

  /** A client of `port` that is not waited for. */
  open(port: number, options: IClientOptions = {}): MqttClient {
    const client = connect({
      host: "127.0.0.1",
      port,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 30,
      ...options,
    });
    client.on("error", () => {});
    this.clients.push(client);
    return client;
  }

  async endAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.endAsync(true)));
  }
}

/** Resolves when `done()` holds, checked on every message `client` receives; rejects after `ms`. */
export function until(client: MqttClient, done: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      clearTimeout(timer);
      client.off("message", check);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("message", check);
      reject(new Error(`not within ${ms} ms: ${what}`));
    }, ms);
    client.on("message", check);
    check();
  });
}
