// Broker addresses as users write them: `mqtt://host:port`, `mqtts://host:port`, or a comma-separated list.

export interface Broker {
  host: string;
  port: number;
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
  return `${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`;
}
