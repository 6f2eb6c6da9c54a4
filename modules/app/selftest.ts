// The `diag` command: a self-test that walks the layers one by one, as an expert would: link, DNS, TCP (and
// TLS), MQTT CONNECT, SUBSCRIBE and PUBLISH loopback on a private topic, PINGREQ round trip. Each step prints ok or
// failed with its time; the first failure ends the walk with its diagnosis. It uses its own connection with its
// own client id, so the device's session is not disturbed (the same id would take it over).

import type { Device } from "tether/app/device";
import { brokerName } from "tether/client/broker";
import { Connection, type ConnectionEvent } from "tether/client/connection";
import type { TransportError, WebSocketHandlers } from "tether/client/transport";
import { connectWebSocket } from "tether/client/websocket";
import type { Code } from "tether/diag/codes";
import type { Out } from "tether/diag/console";
import { Diagnoser, type Finding } from "tether/diag/diagnose";
import { failureInfo } from "tether/diag/failures";
import type { Socket } from "tether/host";
import { toBytes } from "tether/mqtt/bytes";
import { Session } from "tether/mqtt/session";

/**
 * What a step that gets no answer within the timeout means: a broker that stops answering mid-walk is a half-open
 * link; a loopback message that never comes back was most likely dropped by an ACL that denies silently.
 */
const SILENCE: Readonly<Record<string, Code>> = Object.freeze({
  dns: "dns_failed",
  tcp: "tcp_timeout",
  "tcp+tls": "tcp_timeout",
  websocket: "websocket_failed",
  connect: "connack_timeout",
  subscribe: "keepalive_timeout",
  loopback: "subscribe_denied",
  ping: "keepalive_timeout",
});

export function runSelfTest(device: Device, out: Out): void {
  const { host, settings } = device;
  const client = device.client;
  if (!client) {
    out("diag failed: the client is not configured (see the config_error line)");
    return;
  }
  const broker = client.broker;
  const started = host.now();
  let stepStarted = started;
  let step = "";
  let socket: Socket | undefined;
  let conn: Connection | undefined;
  let done = false;
  const topic = `${device.topics.reply}/diag/${started}`;
  const version = settings.get("mqttVersion") === "5" ? 5 : 4;
  const user = settings.get("mqttUser");
  const diagnoser = new Diagnoser({ version, sentUser: user !== "", shortLived: 0, repeats: 1000 }, (finding) =>
    fail(finding),
  );

  // Each step may take as long as the broker is given to answer a CONNECT.
  const stepTimeout = settings.number("connackTimeout");
  const timer = host.timer(() => fail({ code: SILENCE[step], fields: { waited: stepTimeout } }));
  const begin = (name: string) => {
    step = name;
    stepStarted = host.now();
    timer.schedule(stepTimeout);
  };
  const elapsed = () => host.now() - stepStarted;
  const ok = (detail = "") => out(`diag ${step} ok ${elapsed()}ms${detail ? ` ${detail}` : ""}`);
  const finish = () => {
    done = true;
    timer.cancel();
    if (conn?.connected) conn.disconnect(host.now(), "self-test done");
    socket?.close();
  };
  function fail(finding: Finding) {
    if (done) return;
    const facts = device.log.describe(finding.fields);
    out(`diag ${step} failed ${elapsed()}ms${facts ? ` ${facts}` : ""}`);
    out(`diagnosis: ${finding.code}: ${failureInfo(finding.code).hint}`);
    finish();
  }
  const netFailed = (error: TransportError) =>
    diagnoser.observe({ type: "closed", cause: { kind: "net", error }, uptime: -1, idle: 0 });

  out(`diag start broker=${brokerName(broker)}`);
  step = "link";
  if (!host.linkUp()) {
    fail({ code: "link_down", fields: { link: "down" } });
    return;
  }
  ok();

  const dial = (address: string) => {
    begin(broker.tls ? "tcp+tls" : "tcp");
    diagnoser.observe({ type: "connecting", broker, attempt: 1 });
    diagnoser.observe({ type: "resolved", broker, address });
    const options = {
      host: address,
      port: broker.port,
      timeout: settings.number("connectTimeout"),
      tls: broker.tls ? { serverName: broker.host, verify: true, ca: settings.ca() } : undefined,
    };
    const handlers: WebSocketHandlers = {
      onConnect: () => {
        if (done) return;
        ok(broker.path === undefined ? address : "");
        mqtt();
      },
      onData: (bytes) => conn?.receive(bytes, host.now()),
      onWritable: () => {},
      onError: (error) => {
        if (done) return;
        if (conn) conn.socketFailed(error, host.now());
        else netFailed(error);
      },
    };
    const path = broker.path;
    // Over WebSocket, the upgrade is a step of its own after the socket's.
    socket =
      path === undefined
        ? host.connect(options, handlers)
        : connectWebSocket(
            host,
            options,
            { host: broker.host, port: broker.port, tls: broker.tls, path },
            {
              ...handlers,
              onUpgrading: () => {
                if (done) return;
                ok(address);
                begin("websocket");
              },
            },
          );
  };

  const mqtt = () => {
    begin("connect");
    const password = settings.get("mqttPassword");
    conn = new Connection(
      {
        version,
        clientId: `${device.clientId}-diag`,
        cleanStart: true,
        keepAlive: 30,
        username: user || undefined,
        password: password ? toBytes(password) : undefined,
        maxPacketSize: settings.number("maxPacketSize"),
        connackTimeout: stepTimeout,
      },
      new Session(),
      {
        write: (bytes) => socket?.write(bytes),
        close: () => socket?.close(),
        event: (event) => mqttEvent(event),
      },
    );
    conn.start(host.now());
  };

  const mqttEvent = (event: ConnectionEvent) => {
    if (done || !conn) return;
    const now = host.now();
    switch (event.type) {
      case "connected":
        ok(`rtt=${event.rtt}ms session=${event.sessionPresent ? "present" : "new"}`);
        begin("subscribe");
        conn.subscribe([{ topicFilter: topic, qos: 1 }], now);
        return;
      case "subscribed":
        diagnoser.observe(event);
        if (done) return;
        ok(`granted=${event.reasonCodes[0]}`);
        begin("loopback");
        conn.publish({ topic, payload: toBytes("diag"), qos: 1, retain: false }, now);
        return;
      case "completed":
        diagnoser.observe(event);
        return;
      case "message":
        if (event.publish.topic !== topic) return;
        ok(`topic=${topic}`);
        begin("ping");
        conn.ping(now);
        return;
      case "pong":
        ok(`rtt=${event.rtt}ms`);
        out(`diag done: every layer ok in ${host.now() - started}ms`);
        finish();
        return;
      case "closed":
        diagnoser.observe(event);
        return;
    }
  };

  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(broker.host)) {
    step = "dns";
    ok(`skipped: ${broker.host} is an address`);
    dial(broker.host);
    return;
  }
  begin("dns");
  host.resolve(broker.host, (address, error) => {
    if (done) return;
    if (address === undefined) {
      netFailed(error ?? { code: "dns" });
      return;
    }
    ok(address);
    dial(address);
  });
}
