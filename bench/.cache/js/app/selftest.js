import { toBytes } from "tether/app/bytes";
import { Connection } from "tether/client/connection";
import { failureInfo } from "tether/diag/codes";
import { Diagnoser } from "tether/diag/diagnose";
import { Session } from "tether/mqtt/session";
const STEP_TIMEOUT = 1e4;
const IP = /^\d{1,3}(\.\d{1,3}){3}$/;
function runSelfTest(device, out) {
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
  let timer;
  let socket;
  let conn;
  let done = false;
  const topic = `${device.topics.reply}/diag/${started}`;
  const version = settings.get("mqttVersion") === "5" ? 5 : 4;
  const user = settings.get("mqttUser");
  const diagnoser = new Diagnoser(
    { version, sentUser: user !== "", shortLived: 0, repeats: 1e3 },
    (finding) => fail(finding)
  );
  const begin = (name) => {
    step = name;
    stepStarted = host.now();
    if (timer) host.clearTimer(timer);
    timer = host.setTimer(
      STEP_TIMEOUT,
      () => fail({
        code: step === "loopback" ? "subscribe_denied" : "connack_timeout",
        fields: { step, waited: STEP_TIMEOUT }
      })
    );
  };
  const elapsed = () => host.now() - stepStarted;
  const ok = (detail = "") => out(`diag ${step} ok ${elapsed()}ms${detail ? ` ${detail}` : ""}`);
  const finish = () => {
    done = true;
    if (timer) host.clearTimer(timer);
    if (conn?.connected) conn.disconnect(host.now(), "self-test done");
    socket?.close();
  };
  function fail(finding) {
    if (done) return;
    let facts = "";
    for (const key in finding.fields) {
      const value = finding.fields[key];
      if (value !== void 0) facts += ` ${key}=${value}`;
    }
    out(`diag ${step} failed ${elapsed()}ms${facts}`);
    out(`diagnosis: ${finding.code}: ${failureInfo(finding.code).hint}`);
    finish();
  }
  const netFailed = (error) => diagnoser.observe({ type: "closed", cause: { kind: "net", error }, uptime: -1, idle: 0 });
  out(`diag start broker=${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`);
  step = "link";
  if (!host.linkUp()) {
    fail({ code: "link_down", fields: { link: "down" } });
    return;
  }
  ok();
  const dial = (address) => {
    begin(broker.tls ? "tcp+tls" : "tcp");
    diagnoser.observe({ type: "connecting", broker, attempt: 1 });
    diagnoser.observe({ type: "resolved", broker, address });
    socket = host.connect(
      {
        host: address,
        port: broker.port,
        timeout: settings.number("connectTimeout"),
        tls: broker.tls ? { serverName: broker.host, verify: true } : void 0
      },
      {
        onConnect: () => {
          if (done) return;
          ok(address);
          mqtt();
        },
        onData: (bytes) => conn?.receive(bytes, host.now()),
        onWritable: () => {
        },
        onError: (error) => {
          if (done) return;
          if (conn) conn.socketFailed(error, host.now());
          else netFailed(error);
        }
      }
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
        username: user || void 0,
        password: password ? toBytes(password) : void 0,
        maxPacketSize: settings.number("maxPacketSize"),
        connackTimeout: STEP_TIMEOUT
      },
      new Session(),
      {
        write: (bytes) => socket?.write(bytes),
        close: () => socket?.close(),
        event: (event) => mqttEvent(event)
      }
    );
    conn.start(host.now());
  };
  const mqttEvent = (event) => {
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
  if (IP.test(broker.host)) {
    step = "dns";
    ok(`skipped: ${broker.host} is an address`);
    dial(broker.host);
    return;
  }
  begin("dns");
  host.resolve(broker.host, (address, error) => {
    if (done) return;
    if (address === void 0) {
      netFailed(error ?? { code: "dns" });
      return;
    }
    ok(address);
    dial(address);
  });
}
export {
  runSelfTest
};
