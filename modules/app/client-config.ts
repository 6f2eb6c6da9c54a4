// The client's configuration made from the settings, checked as a whole: what the device and `npm run fleet` start.
import { toBytes } from "tether/app/bytes";
import { type Settings, userPairs } from "tether/app/settings";
import { type BackoffConfig, DEFAULT_JITTER, validateBackoff } from "tether/client/backoff";
import { parseBrokers } from "tether/client/broker";
import type { ClientConfig } from "tether/client/client";
import type { ConnectExtras } from "tether/client/connection";
import { TUNER_DEFAULTS, validateTuner } from "tether/client/keepalive-tuner";
import { classifyCause } from "tether/diag/diagnose";
import type { Properties, ProtocolVersion } from "tether/mqtt/packets";

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
  const willDelay = settings.number("willDelay");
  const message = messageProperties(settings);
  const willProperties = version === 5 && willDelay ? { ...message, willDelayInterval: willDelay } : message;
  return {
    brokers,
    clientId,
    version,
    keepAlive,
    username: user || undefined,
    password: password ? toBytes(password) : undefined,
    will: {
      topic: statusTopic,
      payload: toBytes('{"online":false}'),
      qos: 1,
      retain: true,
      properties: willProperties,
    },
    cleanStart: settings.get("cleanSession") === "1",
    sessionExpiry: settings.number("sessionExpiry"),
    maxPacketSize: settings.number("maxPacketSize"),
    connectTimeout: settings.number("connectTimeout"),
    connackTimeout: settings.number("connackTimeout"),
    backoff: backoffConfig(settings),
    queue: { count: settings.number("queueCount"), bytes: settings.number("queueBytes") },
    classify: (cause) => classifyCause(cause, version, user !== ""),
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
