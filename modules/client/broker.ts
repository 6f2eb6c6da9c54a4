// Broker addresses as users write them (`mqtt://host:port`, `mqtts://host:port`, MQTT over WebSocket as
// `ws://host:port/path` and `wss://host:port/path`, or a comma-separated list) and as MQTT 5 Server References give them (`host[:port]`, `[ipv6]:port`, separated by spaces).

export interface Endpoint {
  host: string;
  port: number;
}

export interface Broker extends Endpoint {
  tls: boolean;
  /** MQTT over WebSocket: the request target of the upgrade (`/mqtt` by default); absent for MQTT over TCP. */
  path?: string;
}

/** A DNS name or dotted address (the pattern is made per call: XS must not preload regular expressions). */
function validHost(host: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
    host,
  );
}

/** Parses one broker URL; a string result is the error, one line naming what is wrong. */
export function parseBroker(url: string): Broker | string {
  const m = /^(mqtts?|wss?):\/\/([^/:?#]*)(?::([^/?#]*))?(\/[^#]*)?$/.exec(url.trim());
  const expected = "expected mqtt://host:port, mqtts://host:port, ws://host:port/path or wss://host:port/path";
  if (!m) return `malformed broker URL "${url}": ${expected}`;
  const scheme = m[1];
  const ws = scheme === "ws" || scheme === "wss";
  const tls = scheme === "mqtts" || scheme === "wss";
  const host = m[2];
  if (!validHost(host)) return `malformed broker URL "${url}": bad host name "${host}"`;
  const port = m[3] === undefined ? (ws ? (tls ? 443 : 80) : tls ? 8883 : 1883) : Number(m[3]);
  if (!/^\d{1,5}$/.test(m[3] ?? "1") || port < 1 || port > 65535) {
    return `malformed broker URL "${url}": port must be 1..65535`;
  }
  const path = m[4];
  if (!ws) {
    if (path !== undefined && path !== "/") return `malformed broker URL "${url}": a path needs ws:// or wss://`;
    return { host, port, tls };
  }
  if (path !== undefined && !validPath(path)) {
    return `malformed broker URL "${url}": the path may hold printable ASCII only, no spaces`;
  }
  return { host, port, tls, path: path ?? "/mqtt" };
}

/** A request target for the WebSocket upgrade: `/`, then printable ASCII without spaces (a query included). */
export function validPath(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return false;
  }
  return true;
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
  if (broker.path !== undefined) return `${broker.tls ? "wss" : "ws"}://${hostPort(broker)}${broker.path}`;
  return `${broker.tls ? "mqtts" : "mqtt"}://${hostPort(broker)}`;
}

export function hostPort(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

const SECURE = Object.freeze(["mqtts", "ssl", "tls"]);
const PLAIN = Object.freeze(["mqtt", "tcp"]);

/** Where a Server Reference sends us; `tls` only when the entry names a scheme. */
export interface Reference extends Endpoint {
  tls?: boolean;
}

/**
 * Parses an MQTT 5 Server Reference in the forms brokers send: `host`, `host:port`, `[ipv6]:port`, or a URL
 * `scheme://host[:port]` (tcp, mqtt, mqtts, ssl, tls), several separated by spaces (or commas). An entry without a
 * port keeps `defaultPort` (a URL: its scheme's). With `tls`, a plain-text URL is left out: a redirect may not
 * take the device off TLS. Returns the usable entries in order, or one line saying why there is none.
 */
export function parseServerReference(text: string, defaultPort: number, tls = false): Reference[] | string {
  const endpoints: Reference[] = [];
  let refused = "";
  for (const item of text.split(/[\s,]+/)) {
    if (item === "") continue;
    const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?(?:\[([^\]]+)\]|([^:/[\]]+))(?::(\d{1,5}))?\/?$/.exec(item);
    const scheme = m?.[1]?.toLowerCase();
    const secure = scheme === undefined ? undefined : SECURE.indexOf(scheme) >= 0;
    const known = secure !== undefined && (secure || PLAIN.indexOf(scheme!) >= 0);
    const port = m?.[4] !== undefined ? Number(m[4]) : secure === undefined ? defaultPort : secure ? 8883 : 1883;
    const host = m?.[2] ?? m?.[3] ?? "";
    if (!m || !(port >= 1 && port <= 65535) || (m[3] !== undefined && !validHost(host))) {
      refused ||= `server reference "${item}": expected host, host:port, [ipv6]:port or scheme://host:port`;
    } else if (scheme !== undefined && !known) {
      refused ||= `server reference "${item}": scheme ${scheme} is not MQTT over TCP or TLS`;
    } else if (tls && secure === false) {
      refused ||= `server reference "${item}": would leave TLS`;
    } else endpoints.push(secure === undefined ? { host, port } : { host, port, tls: secure });
  }
  if (endpoints.length > 0) return endpoints;
  return refused || "server reference is empty";
}
