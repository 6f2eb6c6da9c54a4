// The device as the firmware's parts share it (console commands, the self-test, the event handlers), and the two
// ways it reports trouble on serial: a failure found (`diag <code>`) and a handler that threw (`app fault`).
import type { Settings } from "tether/app/settings";
import type { Client } from "tether/client/client";
import type { KeepAliveTuner } from "tether/client/keepalive-tuner";
import type { Bucket } from "tether/diag/bucket";
import type { Finding } from "tether/diag/diagnose";
import { failureLine } from "tether/diag/failures";
import type { History } from "tether/diag/history";
import type { Fields, Logger } from "tether/diag/log";
import type { Stats } from "tether/diag/stats";
import type { Store } from "tether/diag/storage";
import type { Host } from "tether/host";
import type { Properties, Publish } from "tether/mqtt/packets";

/**
 * How console output is told apart from log lines on the serial port: every line a command prints starts with
 * this, while log lines start with their uptime (parseLine in diag/log reads them). Replies on the command topic
 * carry the output without it.
 */
export const OUTPUT_PREFIX = "| ";

/** Everything the console commands and the self-test need to reach. */
export interface Device {
  host: Host;
  /** The host's storage with the flash budget, as every part of the firmware reads and writes it. */
  store: Store;
  settings: Settings;
  log: Logger;
  stats: Stats;
  history: History;
  client: Client | undefined;
  tuner: KeepAliveTuner;
  clientId: string;
  topics: { status: string; cmd: string; reply: string };
  bootedAt: number;
  // The optional fields below are absent until first set: each field a booted device carries costs heap.
  /** The last failure found, for `status`. */
  lastFailure?: Finding;
  /** Whether low_memory has been reported and the heap has not recovered since. */
  lowMemory?: boolean;
  /** The commands the command topic may run (the setting remoteCommands); undefined when the remote console is off. */
  remoteCommands: readonly string[] | undefined;
  /** True while a command from the command topic runs: settings that decide who controls the device are refused. */
  remote?: boolean;
  /** The command topic's budget: commands a minute (remoteBudget). */
  remoteBucket: Bucket;
  /** Commands whose connection ended before the broker was known to have read their ack (see app/remote.ts). */
  unconfirmed?: Publish[];
  /** MQTT 5 properties of every message the device publishes (the message expiry), made once. */
  properties: Properties | undefined;
}

/**
 * Characters of a topic a log line shows: a topic may be 64 KB long, and a line that long would hold the serial
 * port for seconds.
 */
export const TOPIC_SHOWN = 200;

/** The first `max` characters of a topic, line or message a log line shows, and its length when cut. */
export function clip(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}...(${text.length})` : text;
}

/**
 * The top-level guard's report: an event handler threw. One `E app fault` line naming the handler (`in`), what it
 * was handling and the exception (secret fields hidden by the logger, as on every line); counted; kept in the
 * history. The device goes on. Never throws itself: when even the report fails there is nothing left to tell.
 */
export function fault(device: Device, handler: string, error: unknown, fields?: Fields): void {
  try {
    device.stats.fault(handler === "message");
    const cause = clip(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 160);
    device.log.error("app", "fault", { in: handler, ...fields, error: cause });
    device.history.add(device.host.now(), "fault", `in=${handler} ${cause}`);
  } catch {}
}

/** A failure line: `diag <code>` with its facts and the hint; kept in the history. */
export function failure(device: Device, finding: Finding): void {
  device.lastFailure = finding;
  const line = failureLine(finding.code, finding.fields);
  device.log.log(line.level, "diag", finding.code, line.fields);
  // The address a name resolved to is left out: history slots are small, and the broker is named already.
  const { address, ...facts } = finding.fields;
  device.history.add(device.host.now(), finding.code, device.log.describe(facts));
}
