const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
function parseBroker(url) {
  const m = /^(mqtts?):\/\/([^/:?#]*)(?::([^/?#]*))?\/?$/.exec(url.trim());
  if (!m) return `malformed broker URL "${url}": expected mqtt://host:port or mqtts://host:port`;
  const tls = m[1] === "mqtts";
  const host = m[2];
  if (!HOST.test(host)) return `malformed broker URL "${url}": bad host name "${host}"`;
  const port = m[3] === void 0 ? tls ? 8883 : 1883 : Number(m[3]);
  if (!/^\d{1,5}$/.test(m[3] ?? "1") || port < 1 || port > 65535) {
    return `malformed broker URL "${url}": port must be 1..65535`;
  }
  return { host, port, tls };
}
function parseBrokers(list) {
  const brokers = [];
  for (const part of list.split(",")) {
    if (!part.trim()) continue;
    const broker = parseBroker(part);
    if (typeof broker === "string") return broker;
    brokers.push(broker);
  }
  return brokers.length ? brokers : "broker list is empty: give at least one mqtt://host:port";
}
function brokerName(broker) {
  return `${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`;
}
export {
  brokerName,
  parseBroker,
  parseBrokers
};
