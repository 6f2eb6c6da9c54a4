// Broker addresses as users write them (`mqtt://host:port`, `mqtts://host:port`, or a comma-separated list) and
// as MQTT 5 Server References give them (`host[:port]`, `[ipv6]:port`, separated by spaces).

export interface Endpoint {
  host: string;
  port: number;
}

export interface Broker extends Endpoint {
  tls: boolean;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses one broker URL; a string result is the error, one line naming what is wrong. */
export function parseBroker(url: string): Broker | string {
  const m = /^(mqtts?):\/\/([^/:?#]*)(?::([^/?#]*))?\/?$/.exec(url.trim());
  if (!m) return `malformed broker URL "${url}": expected mqtt://host:port or mqtts://host:port`;
  const tls = m[1] === "mqtts";
  const host = m[2];
  if (!HOST.test(host)) return `malformed broker URL "${url}": bad host name "${host}"`;
  const port = m[3] === undefined ? (tls ? 8883 : 1883) : Number(m[3]);
  if (!/^\d{1,5}$/.test(m[3] ?? "1") || port < 1 || port > 65535) {
    return `malformed broker URL "${url}": port must be 1..65535`;
  }
  return { host, port, tls };
}

/** Parses a comma-separated list of broker URLs; a string result is the first error. */
export function parseBrokers(list: string): Broker[] | string {
  const brokers: Broker[] = [];
  for (const part of list.split(",")) {
    if (!part.trim()) continue;
    const broker = parseBroker(part);
    if (typeof broker === "string") return broker;
    brokers.push(broker);
  }
  return brokers.length ? brokers : "broker list is empty: give at least one mqtt://host:port";
}

export function brokerName(broker: Broker): string {
  return `${broker.tls ? "mqtts" : "mqtt"}://${hostPort(broker)}`;
}

export function hostPort(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/**
 * Parses an MQTT 5 Server Reference: `host`, `host:port` or `[ipv6]:port`, several separated by spaces (or commas).
 * Returns an error string naming the bad entry.
 */
export function parseServerReference(text: string, defaultPort: number): Endpoint[] | string {
  const endpoints: Endpoint[] = [];
  for (const item of text.split(/[\s,]+/)) {
    if (item === "") continue;
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(item);
    const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
    if (!m || !(port >= 1 && port <= 65535))
      return `broker "${item}": expected host, host:port or [ipv6]:port, port 1..65535`;
    endpoints.push({ host: m[1] ?? m[2]!, port });
  }
  return endpoints.length > 0 ? endpoints : "broker: the list is empty; give at least one host[:port]";
}
