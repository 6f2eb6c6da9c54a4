// Broker URLs as users write them: MQTT over TCP or TLS, and MQTT over WebSocket with its path.
import { brokerName, parseBroker, parseBrokers, validPath } from "tether/client/broker";

test("mqtt:// and mqtts:// keep their default ports and take no path", () => {
  expect(parseBroker("mqtt://b.example")).toEqual({ host: "b.example", port: 1883, tls: false });
  expect(parseBroker("mqtts://b.example/")).toEqual({ host: "b.example", port: 8883, tls: true });
  expect(parseBroker("mqtt://b.example:1883/mqtt")).toBe(
    'malformed broker URL "mqtt://b.example:1883/mqtt": a path needs ws:// or wss://',
  );
});

test("ws:// and wss:// default to ports 80 and 443 and the path /mqtt, and keep a path and query as given", () => {
  expect(parseBroker("ws://b.example")).toEqual({ host: "b.example", port: 80, tls: false, path: "/mqtt" });
  expect(parseBroker("wss://b.example")).toEqual({ host: "b.example", port: 443, tls: true, path: "/mqtt" });
  expect(parseBroker("ws://127.0.0.1:8080/")).toEqual({ host: "127.0.0.1", port: 8080, tls: false, path: "/" });
  expect(parseBroker("wss://b.example:8443/ws?token=abc")).toEqual({
    host: "b.example",
    port: 8443,
    tls: true,
    path: "/ws?token=abc",
  });
  expect(parseBrokers("ws://a.example:9001/mqtt,mqtts://b.example")).toEqual([
    { host: "a.example", port: 9001, tls: false, path: "/mqtt" },
    { host: "b.example", port: 8883, tls: true },
  ]);
});

test("a bad WebSocket URL is one line naming what is wrong", () => {
  expect(parseBroker("ws://b.example/a b")).toBe(
    'malformed broker URL "ws://b.example/a b": the path may hold printable ASCII only, no spaces',
  );
  expect(parseBroker("ws://b.example/caf\u00e9")).toContain("printable ASCII only");
  expect(parseBroker("wss://b.example:0/mqtt")).toContain("port must be 1..65535");
  expect(parseBroker("http://b.example/mqtt")).toContain("expected mqtt://host:port");
  expect(parseBroker("ws://b.example/x#frag")).toContain("expected");
});

test("brokerName writes each form back as it parses", () => {
  for (const url of [
    "mqtt://b.example:1883",
    "mqtts://b.example:8883",
    "ws://b.example:80/mqtt",
    "wss://b.example:443/ws?x=1",
  ]) {
    const broker = parseBroker(url);
    if (typeof broker === "string") throw new Error(broker);
    expect(brokerName(broker)).toBe(url);
  }
});

test("a WebSocket path starts with / and holds printable ASCII only (the drop-in's path too)", () => {
  for (const path of ["/", "/mqtt", "/ws?token=a%20b&x=1", "/a/b:c@d"])
    expect([path, validPath(path)]).toEqual([path, true]);
  for (const path of ["", "mqtt", "/a b", "/a\tb", "/caf\u00e9", "/x#y", "/\u007f"]) {
    expect([path, validPath(path)]).toEqual([path, false]);
  }
});
