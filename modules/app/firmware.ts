// The firmware: reads the settings, keeps the client connected, publishes the status beacon, answers commands
// on the serial console and on its command topic, and says on serial what goes wrong and why. This file boots it
// and takes the host's events; each part it wires lives in a file of its own (see docs/ARCHITECTURE.md).
import {
  clientConfig,
  deviceClientId,
  messageProperties,
  packetSizeProblem,
  topicBase,
} from "tether/app/client-config";
import { clientEvent, TUNER_KEY } from "tether/app/client-events";
import { COMMANDS } from "tether/app/commands";
import { clip, type Device, failure, fault, OUTPUT_PREFIX } from "tether/app/device";
import { guardSockets } from "tether/app/guard";
import { goodbye, publishStatus } from "tether/app/publish";
import { remoteNames, senderFailure } from "tether/app/remote";
import { Settings } from "tether/app/settings";
import { Client } from "tether/client/client";
import { KeepAliveTuner, TUNER_DEFAULTS } from "tether/client/keepalive-tuner";
import { Bucket } from "tether/diag/bucket";
import { execute } from "tether/diag/console";
import { Diagnoser } from "tether/diag/diagnose";
import { History } from "tether/diag/history";
import { INFO, Logger, levelFromName } from "tether/diag/log";
import { Stats } from "tether/diag/stats";
import { Store } from "tether/diag/storage";
import type { Host, HostEvents, Timer } from "tether/host";

/** Heap use above this fraction of the limit is reported as low_memory; below the second, it has recovered. */
const LOW_MEMORY = 0.9;
const RECOVERED = 0.8;
/** Period of the housekeeping (heap check, rate-limit summaries), ms. */
const HOUSEKEEPING = 1000;
const MINUTE = 60000;
/** Events the history keeps. */
const HISTORY_SLOTS = 64;

export function start(host: Host, config: Readonly<Record<string, unknown>>): Device {
  // The logger comes first, at info until the settings are read: what storage cannot give back is said on it.
  const log = new Logger(
    (line) => host.serialWrite(`${line}\n`),
    () => host.now(),
  );
  const store = new Store(host, log);
  const settings = new Settings(config, store, (s) => packetSizeProblem(s, host.deviceId));
  settings.dropInvalid();
  log.level = levelFromName(settings.get("logLevel")) ?? INFO;
  log.budget = settings.number("serialBudget");
  store.bucket.rate = settings.number("flashBudget");
  const history = new History(store, HISTORY_SLOTS, "hist", settings.number("historyBudget"));
  const clientId = deviceClientId(settings, host.deviceId);
  const prefix = topicBase(settings, clientId);
  const keepAlive = settings.number("keepAlive");
  const tuner = new KeepAliveTuner({ ...TUNER_DEFAULTS, keepAlive, min: settings.number("keepAliveMin") });
  const saved = store.readSetting(TUNER_KEY);
  if (saved && !tuner.restore(saved)) store.rejected(TUNER_KEY, "not a keep-alive tuner state");
  const device: Device = {
    host,
    store,
    settings,
    log,
    stats: new Stats(),
    history,
    client: undefined,
    tuner,
    clientId,
    topics: { status: `${prefix}/status`, cmd: `${prefix}/cmd`, reply: `${prefix}/reply` },
    bootedAt: host.now(),
    remoteCommands: remoteNames(settings.get("remoteCommands"), log),
    remoteBucket: new Bucket(settings.number("remoteBudget"), MINUTE),
    properties: messageProperties(settings),
  };
  device.host = guardSockets(device);
  log.info("app", "boot", { platform: host.platform, client_id: clientId, boot: history.boot });
  history.add(host.now(), "boot", `${host.platform} ${clientId}`);

  const config_ = clientConfig(settings, clientId, device.topics.status, tuner.keepAlive);
  if (typeof config_ === "string") {
    // Stay up with the console working, so the setting can be fixed in place.
    log.error("app", "config_error", { error: config_, fix: "config set <key> <value>, then reboot" });
  } else {
    const diagnoser = new Diagnoser(
      {
        version: config_.version,
        // Read at each failure: `reconnect` may set the user name the client sends (the client keeps this object).
        get sentUser() {
          return config_.username !== undefined;
        },
        shortLived: settings.number("backoffStable"),
        repeats: 3,
        keepsSession: !config_.cleanStart && (config_.version === 4 || config_.sessionExpiry > 0),
        // The tuner acts on idle deaths from here up and names them itself.
        tunerIdle: tuner.minIdle,
      },
      (finding) => failure(device, finding),
    );
    const client = new Client(device.host, config_, {
      observe: (event) => {
        // The guard sits here, inside the client: an exception in one event must not cut the others short. A message
        // is acknowledged before it gets here (Connection), so nothing a handler does can have it delivered again.
        try {
          // What a command's sender caused is counted against it, not diagnosed as the device's failure.
          if (!senderFailure(device, event)) diagnoser.observe(event);
          clientEvent(device, event, client);
        } catch (error) {
          if (event.type === "message") {
            const { topic, qos, retain, payload } = event.publish;
            fault(device, "message", error, {
              topic: clip(topic),
              qos,
              retain: retain ? 1 : undefined,
              bytes: payload.length,
            });
          } else fault(device, event.type, error);
        }
      },
    });
    device.client = client;
    if (device.remoteCommands) client.subscribe({ topicFilter: device.topics.cmd, qos: 1 });
    log.info("mqtt", "config", {
      broker: settings.get("broker"),
      version: settings.get("mqttVersion"),
      keepalive: tuner.keepAlive,
      user: config_.username ? "set" : "none",
    });
    client.start();
  }

  host.listen(new Events(device));
  return device;
}

/**
 * The host's events and the periodic work. Methods of one object rather than closures: each closure would stay
 * on the heap for as long as the device runs (the timer's callback is the one left).
 */
class Events implements HostEvents {
  private readonly device: Device;
  private readonly beaconEvery: number;
  private beaconAt: number;
  private readonly timer: Timer;
  private readonly tick = (): void => {
    const { device } = this;
    this.timer.schedule(HOUSEKEEPING);
    try {
      housekeeping(device);
      if (this.beaconEvery && device.host.now() >= this.beaconAt) {
        this.beaconAt = device.host.now() + this.beaconEvery;
        if (device.client?.connected) publishStatus(device, true);
      }
    } catch (error) {
      fault(device, "timer", error);
    }
  };

  constructor(device: Device) {
    this.device = device;
    this.beaconEvery = device.settings.number("beaconInterval") * 1000;
    this.beaconAt = device.host.now() + this.beaconEvery;
    this.timer = device.host.timer(this.tick);
    this.timer.schedule(HOUSEKEEPING);
  }

  onSerialLine(line: string): void {
    const { host } = this.device;
    try {
      execute(COMMANDS, line, (text) => host.serialWrite(`${OUTPUT_PREFIX}${text}\n`), this.device);
    } catch (error) {
      fault(this.device, "serial", error, { line: clip(line) });
    }
  }

  onLink(up: boolean): void {
    try {
      this.device.client?.linkChanged(up);
      if (up) this.device.log.info("link", "up");
    } catch (error) {
      fault(this.device, "link", error);
    }
  }

  onShutdown(): void {
    const { log } = this.device;
    this.timer.cancel();
    try {
      goodbye(this.device, "shutdown");
      log.info("app", "shutdown");
    } catch (error) {
      fault(this.device, "shutdown", error);
    }
  }
}

/** Periodic work: the heap check, the log's rate-limit summaries, the history's repeat counts. */
function housekeeping(device: Device): void {
  const { host, stats, log, settings } = device;
  const heap = host.heap();
  stats.heap(heap.used, heap.peak);
  log.tick(host.now());
  device.history.tick(host.now());
  const limit = settings.number("heapLimit") || heap.total;
  if (!limit) return;
  if (!device.lowMemory && heap.used > limit * LOW_MEMORY) {
    device.lowMemory = true;
    failure(device, { code: "low_memory", fields: { used: heap.used, limit, peak: heap.peak } });
  } else if (device.lowMemory && heap.used < limit * RECOVERED) {
    device.lowMemory = false;
    log.info("heap", "recovered", { used: heap.used, limit });
  }
}
