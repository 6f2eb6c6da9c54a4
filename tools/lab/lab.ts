// The fault lab's bench: the brokers, fault proxies, TLS front ends and simulated devices one scenario uses, started
// on 127.0.0.1 and all stopped by close(), whatever happened. What the lab does is kept as notes, timed from the start,
// so the summary can tell the story next to the device's own lines.

import { isSecretKey } from "tether/diag/log";
import { type EmbeddedBroker, startBroker } from "../../hosts/sim/node/broker";
import { SimDevice } from "../../hosts/sim/node/device";
import { FaultProxy } from "../rigs/fault-proxy";
import { MOSQUITTO, type Mosquitto, startMosquitto } from "../rigs/mosquitto";
import { Probe } from "../rigs/probe";

/** Settings under every scenario's own: quick retries and timeouts, no status beacon to blur the story. */
export const LAB_SETTINGS: Record<string, string> = {
  backoffBase: "200",
  backoffCap: "1000",
  connectTimeout: "2000",
  connackTimeout: "2000",
  beaconInterval: "0",
};

/** Longest a scenario may take to produce its diagnosis. */
export const SCENARIO_TIMEOUT_MS = 60000;

export interface LabBroker {
  kind: "mosquitto" | "aedes";
  port: number;
  url: string;
  /** Stops it: its connections close without DISCONNECT, then its port refuses. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with no sessions. */
  start(): Promise<void>;
}

export interface Note {
  /** Milliseconds since the lab started. */
  at: number;
  text: string;
}

export interface LabEvents {
  /** A device wrote serial output; `name` is the one given to boot(). */
  serial?(name: string, text: string): void;
  /** A device booted. */
  booted?(name: string, device: Probe): void;
  /** The lab did something (started a broker, injected a fault, typed a command). */
  note?(note: Note): void;
}

export class Lab {
  readonly notes: Note[] = [];
  /** The devices booted, by name; the first is the one the user types to. */
  readonly devices = new Map<string, Probe>();
  private readonly started = Date.now();
  private readonly stops: (() => Promise<unknown>)[] = [];
  private closed = false;

  constructor(private readonly events: LabEvents = {}) {}

  note(text: string): void {
    const note = { at: Date.now() - this.started, text };
    this.notes.push(note);
    this.events.note?.(note);
  }

  /**
   * Runs `stop` at close(), after what was registered later (last in, first out); at once when the lab is closed
   * already (a scenario cut short by a timeout or Ctrl-C may still be starting something).
   */
  defer(stop: () => Promise<unknown>): void {
    if (this.closed) void stop().catch(() => {});
    else this.stops.push(stop);
  }

  /** A plain broker: mosquitto where installed, else the embedded aedes. */
  async broker(): Promise<LabBroker> {
    const broker = MOSQUITTO ? await this.mosquittoBroker() : await this.aedesBroker();
    this.note(`${broker.kind} listens on ${broker.url}`);
    return broker;
  }

  /** A mosquitto of the scenario's own (a password file, a plugin); the scenario's `needs` says mosquitto. */
  async mosquitto(start: () => Promise<Mosquitto>, what: string): Promise<Mosquitto> {
    const mosquitto = await start();
    this.defer(() => mosquitto.stop());
    this.note(`mosquitto (${what}) listens on ${mosquitto.url}`);
    return mosquitto;
  }

  /** A fault proxy in front of `port`. */
  async proxy(port: number): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ host: "127.0.0.1", port });
    this.defer(() => proxy.close());
    this.note(`fault proxy on 127.0.0.1:${proxy.port} forwards to 127.0.0.1:${port}`);
    return proxy;
  }

  /** Boots the real firmware in the simulator with `config` over LAB_SETTINGS. */
  async boot(name: string, config: Record<string, string>): Promise<Probe> {
    this.note(`device "${name}" boots: ${describe(config)}`);
    const settings = { ...LAB_SETTINGS, ...config };
    const device = await SimDevice.start({ config: settings, onSerial: (text) => this.events.serial?.(name, text) });
    if (this.closed) void device.shutdown();
    const probe = new Probe(device);
    this.devices.set(name, probe);
    this.events.booted?.(name, probe);
    return probe;
  }

  /** Types a console line on a device, as the user would, and waits for the console output matching `until`. */
  async type(device: Probe, line: string, until: RegExp): Promise<string[]> {
    this.note(`typed on the console: ${line}`);
    return device.command(line, until);
  }

  /**
   * Stops the devices first, so that their logs end with their own goodbye and not with a broker that went away
   * under them (a false broker_closed the report would count); then everything else, newest first. Never rejects.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.devices.values()].map((probe) => probe.device.shutdown().catch(() => {})));
    for (const stop of this.stops.splice(0).reverse()) await stop().catch(() => {});
  }

  private async mosquittoBroker(): Promise<LabBroker> {
    let current = await startMosquitto();
    this.defer(() => current.stop());
    const port = current.port;
    return {
      kind: "mosquitto",
      port,
      url: current.url,
      stop: () => current.stop(),
      start: async () => {
        current = await startMosquitto({ port });
        this.defer(() => current.stop());
      },
    };
  }

  private async aedesBroker(): Promise<LabBroker> {
    let current: EmbeddedBroker = await startBroker();
    this.defer(() => current.stop());
    const port = current.port;
    return {
      kind: "aedes",
      port,
      url: current.url,
      stop: () => current.stop(),
      start: async () => {
        current = await startBroker(port);
        this.defer(() => current.stop());
      },
    };
  }
}

/** Settings as `key=value ...`, secrets hidden as the device hides them. */
function describe(config: Record<string, string>): string {
  return Object.entries(config)
    .map(([key, value]) => `${key}=${isSecretKey(key) ? "***" : value}`)
    .join(" ");
}
