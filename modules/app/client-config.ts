// The client's configuration made from the settings, checked as a whole: what the device and `npm run fleet` start.

import { type Settings, userPairs } from "tether/app/settings";
import { type BackoffConfig, DEFAULT_JITTER, validateBackoff } from "tether/client/backoff";
import { parseBrokers } from "tether/client/broker";
import type { ClientConfig } from "tether/client/client";
import type { ConnectExtras } from "tether/client/connection";
import { TUNER_DEFAULTS, validateTuner } from "tether/client/keepalive-tuner";
import { connectWebSocket } from "tether/client/websocket";
import { classifyCause } from "tether/diag/codes";
import { Stats } from "tether/diag/stats";
import { toBytes } from "tether/mqtt/bytes";
import { CodecError, Encoder } from "tether/mqtt/codec";
import { CONNECT, type Properties, type ProtocolVersion, PUBLISH, type Will } from "tether/mqtt/packets";

/** The device's client id: the setting, or `tether-<device id>`. */
export function deviceClientId(settings: Settings, deviceId: string): string {
  return settings.get("clientId") || `tether-${deviceId}`;
}

/** The first level of the device's own topics: `<topicPrefix>/<client id>`. */
export function topicBase(settings: Settings, clientId: string): string {
  return `${settings.get("topicPrefix")}/${clientId}`;
}

/** Turns the settings into the client's configuration, or the first error as one line (also for `npm run fleet`). */
export function clientConfig(
  settings: Settings,
  clientId: string,
  statusTopic: string,
  keepAlive: number,
): ClientConfig | string {
  const errors = settings.errors();
  if (errors.length) return errors.join("; ");
  const brokers = parseBrokers(settings.get("broker"));
  if (typeof brokers === "string") return brokers;
  const invalid =
    validateBackoff(backoffConfig(settings), brokers) ??
    validateTuner({ ...TUNER_DEFAULTS, keepAlive, min: settings.number("keepAliveMin") });
  if (invalid) return invalid;
  const user = settings.get("mqttUser");
  const password = settings.get("mqttPassword");
  const version = mqttVersion(settings);
  return {
    brokers,
    // The firmware takes any broker URL from its settings, at run time: it carries the WebSocket layer.
    webSocket: connectWebSocket,
    clientId,
    version,
    keepAlive,
    username: user || undefined,
    password: password ? toBytes(password) : undefined,
    will: willOf(settings, statusTopic),
    cleanStart: settings.get("cleanSession") === "1",
    sessionExpiry: settings.number("sessionExpiry"),
    maxPacketSize: settings.number("maxPacketSize"),
    connectTimeout: settings.number("connectTimeout"),
    connackTimeout: settings.number("connackTimeout"),
    backoff: backoffConfig(settings),
    queue: { count: settings.number("queueCount"), bytes: settings.number("queueBytes") },
    classify: classifyCause,
    maxInflight: settings.number("maxInflight"),
    receiveMaximum: settings.number("receiveMaximum"),
    topicAliasMaximum: settings.number("topicAliasMaximum"),
    topicAliases: settings.get("topicAliases") === "1",
    extras: version === 5 ? connectExtras(settings) : undefined,
    ca: settings.ca(),
  };
}

/** The MQTT 5 CONNECT's extras the settings ask for, or undefined (nothing kept) when they ask for none. */
function connectExtras(settings: Settings): ConnectExtras | undefined {
  const pairs = userPairs(settings.get("connectProps"));
  const userProperties = typeof pairs === "string" || !pairs.length ? undefined : pairs;
  const requestResponseInformation = settings.get("responseInfo") === "1";
  const requestProblemInformation = settings.get("problemInfo") !== "0";
  if (!userProperties && !requestResponseInformation && requestProblemInformation) return undefined;
  return { requestResponseInformation, requestProblemInformation, userProperties };
}

/** The will: the retained offline beacon on the status topic. */
function willOf(settings: Settings, statusTopic: string): Will {
  const willDelay = settings.number("willDelay");
  const message = messageProperties(settings);
  const properties = mqttVersion(settings) === 5 && willDelay ? { ...message, willDelayInterval: willDelay } : message;
  return { topic: statusTopic, payload: toBytes('{"online":false}'), qos: 1, retain: true, properties };
}

/** A beacon's payload at its longest: every counter 13 digits (a year of uptime in ms has 11). */
function widestBeacon(): string {
  const beacon: Record<string, unknown> = { online: true };
  for (const key in new Stats().beacon(0)) beacon[key] = 9999999999999;
  return JSON.stringify(beacon);
}

/**
 * What maxPacketSize must hold, by meaning (a Settings check): the device's own CONNECT with its will, and its
 * status beacon. Below that the CONNECT is never sent (connack_timeout at every attempt, for ever) or the beacon
 * never leaves. The CONNECT is measured with every property it may carry.
 */
export function packetSizeProblem(settings: Settings, deviceId: string): string | undefined {
  const clientId = deviceClientId(settings, deviceId);
  const status = `${topicBase(settings, clientId)}/status`;
  const version = mqttVersion(settings);
  const user = settings.get("mqttUser");
  const password = settings.get("mqttPassword");
  const encoder = new Encoder(256, 1 << 20);
  const extras = connectExtras(settings);
  const properties: Properties = {
    sessionExpiryInterval: 1,
    receiveMaximum: 1,
    maximumPacketSize: 1,
    topicAliasMaximum: 1,
  };
  if (extras?.userProperties) properties.userProperties = extras.userProperties;
  if (extras) Object.assign(properties, { requestResponseInformation: 1, requestProblemInformation: 0 });
  const connect = encoder.encode(
    {
      type: CONNECT,
      protocolVersion: version,
      clientId,
      cleanStart: false,
      keepAlive: 0,
      username: user || undefined,
      password: password ? toBytes(password) : undefined,
      will: willOf(settings, status),
      properties: version === 5 ? properties : undefined,
    },
    version,
  );
  const needed = connect instanceof CodecError ? 0 : connect.length;
  const beacon = encoder.encode(
    {
      type: PUBLISH,
      topic: status,
      payload: toBytes(widestBeacon()),
      qos: 1,
      retain: true,
      dup: false,
      packetId: 1,
      properties: messageProperties(settings),
    },
    version,
  );
  const most = Math.max(needed, beacon instanceof CodecError ? 0 : beacon.length);
  const max = settings.number("maxPacketSize");
  if (most <= max) return undefined;
  return `maxPacketSize=${max}: the device's own CONNECT (with its will) and status beacon need ${most} bytes`;
}

/** The properties of the device's own messages: their expiry (MQTT 5), or none. */
export function messageProperties(settings: Settings): Properties | undefined {
  const expiry = settings.number("messageExpiry");
  return mqttVersion(settings) === 5 && expiry > 0 ? { messageExpiryInterval: expiry } : undefined;
}

export function mqttVersion(settings: Settings): ProtocolVersion {
  return settings.get("mqttVersion") === "5" ? 5 : 4;
}

function backoffConfig(settings: Settings): BackoffConfig {
  return {
    base: settings.number("backoffBase"),
    cap: settings.number("backoffCap"),
    stable: settings.number("backoffStable"),
    jitter: DEFAULT_JITTER,
    spread: settings.number("backoffSpread"),
  };
}
