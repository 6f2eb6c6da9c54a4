// The remote console: commands arriving on the command topic, run with what remoteCommands allows, answered on the
// reply topic (or an MQTT 5 request's Response Topic).

import { COMMANDS, isCommand } from "tether/app/commands";
import { clip, type Device, fault } from "tether/app/device";
import { publish } from "tether/app/publish";
import type { ClientEvent } from "tether/client/client";
import { type Command, execute } from "tether/diag/console";
import type { Logger } from "tether/diag/log";
import { toText } from "tether/mqtt/bytes";
import type { Publish } from "tether/mqtt/packets";

/**
 * The commands the command topic may run: those `allowed` names (comma-separated), unknown names said in a warning.
 * Undefined when `allowed` is empty: the remote console is off and the device does not subscribe to its command
 * topic.
 */
export function remoteNames(allowed: string, log: Logger): readonly string[] | undefined {
  const names = allowed.split(",").filter((name) => name !== "");
  if (!names.length) return undefined;
  const unknown = names.filter((name) => !isCommand(name));
  if (unknown.length) log.warn("app", "remote_commands", { unknown: unknown.join(",") });
  return names;
}

/**
 * The command table of the command topic: the commands `names` allows as they are, the others answering that they
 * are for the serial console (`help` is always there). Made for each remote command, which is rare, rather than
 * kept: a dozen objects would stay on the heap for good.
 */
function remoteTable(names: readonly string[]): readonly Command<Device>[] {
  return COMMANDS.map((c) =>
    names.includes(c.name)
      ? c
      : {
          name: c.name,
          usage: c.usage,
          help: "serial console only",
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
          run: localOnly,
        },
  );
}

function localOnly(): void {
  throw new Error("not allowed on the command topic (the setting remoteCommands lists what is)");
}

/**
 * A command arrived on the command topic: run it like a console line, with the commands remoteCommands allows, and
 * publish its output on the reply topic, what it prints at once as one message, anything it prints later (the
 * self-test) line by line. An MQTT 5 request names its own Response Topic and Correlation Data: the output goes
 * there, with the correlation data. A retained command is ignored: it is stored state (left by anyone, at any time),
 * not a request, and would be obeyed again at every subscription.
 */
export function remoteCommand(device: Device, message: Publish): void {
  const allowed = device.remoteCommands;
  if (!allowed || message.retain) {
    const reason = allowed ? "retained" : "remote console off";
    device.log.warn("app", "command_ignored", { reason, bytes: message.payload.length });
    return;
  }
  const { stats, log } = device;
  // The budget: a sender that floods the command topic gets remoteBudget answers a minute, and the refusals are
  // counted. The line is the same every time, so the log prints it once a window and sums up the rest.
  if (!device.remoteBucket.take(device.host.now())) {
    stats.remote.refused++;
    log.warn("app", "command_refused", { reason: "budget", per_minute: device.remoteBucket.rate });
    return;
  }
  // Delivered again: the connection it first came on ended before the broker was known to have read its ack (see
  // unconfirmed); it is this delivery that runs.
  const kept = device.unconfirmed;
  if (message.dup && kept) {
    const at = kept.findIndex((m) => m.packetId === message.packetId);
    if (at >= 0) kept.splice(at, 1);
  }
  // It acts once the broker has read its PUBACK (Client.confirm): a command that ends the connection (reconnect)
  // must not beat the ack to a broker that drops us for something sent before it, or the command comes again at
  // every connection, for ever. QoS 0 has no ack to wait for.
  const client = device.client;
  if (message.qos === 0 || !client) run(device, message, allowed);
  else if (!client.confirm((read) => (read ? guarded(device, message) : unconfirmed(device, message)))) {
    unconfirmed(device, message);
  }
}

/** Commands kept at most while it is not known whether the broker read their ack (see unconfirmed). */
const UNCONFIRMED_MAX = 4;

/**
 * The connection ended before the broker was known to have read a command's ack: the command is kept, not run. A
 * broker that did not read it delivers the command again at the next connection of a kept session (with DUP and the
 * same packet identifier, right after CONNACK): that delivery runs (see remoteCommand). One that read it (the close
 * took only its answer to our PINGREQ) does not: the command runs once the next connection's broker answers a
 * PINGREQ without having delivered it again (see remoteConnected).
 */
function unconfirmed(device: Device, message: Publish): void {
  device.unconfirmed ??= [];
  const kept = device.unconfirmed;
  const room = kept.length < UNCONFIRMED_MAX;
  if (room) kept.push(message);
  device.log.warn("app", "command_unconfirmed", {
    bytes: message.payload.length,
    reason: room
      ? "the connection ended before the broker read its ack: it runs once, on the next connection"
      : `the connection ended before the broker read its ack, and ${UNCONFIRMED_MAX} commands wait already: not run`,
  });
}

/**
 * A connection is up: the commands kept by unconfirmed run once the broker answers a PINGREQ sent now, those it did
 * not deliver again before (a broker resends right after CONNACK, before it reads our PINGREQ).
 */
export function remoteConnected(device: Device): void {
  if (!device.unconfirmed?.length) return;
  device.client?.confirm((read) => {
    const kept = device.unconfirmed;
    if (!read || !kept) return;
    device.unconfirmed = undefined;
    for (const message of kept) guarded(device, message);
  });
}

/** Runs a command whose ack the broker read, with the commands remoteCommands allows now; a fault is reported. */
function guarded(device: Device, message: Publish): void {
  const allowed = device.remoteCommands;
  try {
    if (allowed) run(device, message, allowed);
  } catch (error) {
    fault(device, "message", error, { topic: clip(message.topic), bytes: message.payload.length });
  }
}

/** Runs a command from the command topic and publishes its output (see remoteCommand). */
function run(device: Device, message: Publish, allowed: readonly string[]): void {
  const { stats, log } = device;
  stats.remote.run++;
  const { properties } = message;
  const topic = properties?.responseTopic ?? device.topics.reply;
  const correlationData = properties?.correlationData;
  const replyProperties = correlationData ? { ...device.properties, correlationData } : device.properties;
  // Guarded on its own: what the self-test prints later comes from its callbacks, outside the message's guard.
  const reply = (text: string) => {
    try {
      // Never stored for the session (see OutMessage.transient): a flood of commands would wear the flash.
      const result = publish(device, topic, text, 1, false, replyProperties, true);
      if (result !== "sent" && result !== "queued") {
        stats.remote.unanswered++;
        log.warn("app", "reply_dropped", { result, topic: clip(topic) });
      }
    } catch (error) {
      fault(device, "reply", error);
    }
  };
  let pending: string[] | undefined = [];
  const out = (text: string) => (pending ? pending.push(text) : reply(text));
  const line = toText(message.payload);
  device.remote = true;
  try {
    if (line === undefined) out("error: command is not valid UTF-8");
    else execute(remoteTable(allowed), line, out, device);
  } finally {
    device.remote = false;
  }
  const lines = pending;
  pending = undefined;
  if (lines.length) reply(lines.join("\n"));
}

/**
 * A failure the command topic's sender caused rather than the device's connection: its command was larger than
 * maxPacketSize (skipped, 3.1.1), or the broker refused the reply on the Response Topic it named. Counted against
 * the sender and said in one warning; not a `diag` finding, so it never reaches the history or last_failure, and
 * a sender cannot push the device's own record out. True when the event was one.
 */
export function senderFailure(device: Device, event: ClientEvent): boolean {
  const { stats, log, topics } = device;
  if (event.type === "skipped") {
    if (event.topic !== topics.cmd) return false;
    stats.remote.oversized++;
    log.warn("app", "command_refused", { reason: "too_large", bytes: event.size, max: event.max });
    return true;
  }
  if (event.type !== "completed" || event.completion.ok) return false;
  const { message, reasonCode } = event.completion;
  // The device's own topics are its own trouble (an ACL that forbids them); any other transient message is a reply
  // on a topic the sender chose.
  if (!message.transient || message.topic === topics.reply || message.topic === topics.status) return false;
  stats.remote.denied++;
  log.warn("app", "reply_denied", { topic: clip(message.topic), reason: reasonCode });
  return true;
}
