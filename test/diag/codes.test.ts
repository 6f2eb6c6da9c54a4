import { type Code, classifyConnack, classifyDisconnect, classifyNetError } from "tether/diag/codes";
import { FAILURES, failureInfo, failureLevel } from "tether/diag/failures";
import { ERROR, formatLine, parseLine, WARN } from "tether/diag/log";

// The stable identifiers the firmware, its docs and users' scripts rely on: renaming one is a breaking change.
const REQUIRED: Code[] = [
  "feature_unsupported",
  "dns_failed",
  "tcp_refused",
  "tcp_timeout",
  "tcp_reset",
  "tls_failed",
  "connack_timeout",
  "protocol_rejected",
  "client_id_rejected",
  "server_unavailable",
  "bad_credentials",
  "not_authorized",
  "broker_closed",
  "session_taken_over",
  "keepalive_timeout",
  "packet_too_large",
  "protocol_error",
  "subscribe_denied",
  "publish_denied",
  "link_down",
  "low_memory",
  "flapping",
  "nat_idle_timeout_suspected",
  "server_disconnect",
  "server_moved",
  "quota_exceeded",
  "websocket_failed",
  "reconnect_loop",
  "message_quarantined",
  "message_dropped",
];
const LAYERS = ["link", "dns", "tcp", "tls", "websocket", "mqtt", "auth", "session", "keepalive", "resource"];

describe("failure table", () => {
  test("has every code once, and nothing else", () => {
    expect(FAILURES.map((f) => f.code).sort()).toEqual([...REQUIRED].sort());
  });

  test("is ordered by layer, bottom up", () => {
    const order = FAILURES.map((f) => LAYERS.indexOf(f.layer));
    expect(order.every((layer) => layer >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test("every entry has a one-line hint", () => {
    for (const f of FAILURES) expect(f.hint).toMatch(/^[^\n]{20,200}$/);
  });

  test("hints carry the facts a field engineer needs", () => {
    expect(failureInfo("bad_credentials").hint).toContain("mqttUser/mqttPassword");
    expect(failureInfo("bad_credentials").hint).toContain("5 (3.1.1) / 0x87 (5.0)");
    const tls = JSON.stringify(failureInfo("tls_failed"));
    for (const cause of ["unknown_ca", "expired", "name_mismatch"]) expect(tls).toContain(cause);
    expect(failureInfo("subscribe_denied").hint).toContain("acl_file");
    expect(failureInfo("session_taken_over").hint).toContain("clientId");
    const ws = failureInfo("websocket_failed").hint;
    for (const detail of ["no_response", "http_404", "bad_accept", "subprotocol", "path"]) expect(ws).toContain(detail);
  });

  test("failures only a person can fix are errors, the rest warnings", () => {
    expect(failureLevel(failureInfo("bad_credentials"))).toBe(ERROR);
    expect(failureLevel(failureInfo("tls_failed"))).toBe(ERROR);
    expect(failureLevel(failureInfo("websocket_failed"))).toBe(ERROR);
    expect(failureLevel(failureInfo("tcp_refused"))).toBe(WARN);
  });

  test("a failure line with its hint parses back", () => {
    const info = failureInfo("tcp_refused");
    const line = formatLine(7, failureLevel(info), "diag", info.code, { port: 1883, hint: info.hint });
    expect(parseLine(line)).toEqual({
      time: 7,
      level: WARN,
      area: "diag",
      event: "tcp_refused",
      fields: { port: "1883", hint: info.hint },
    });
  });
});

describe("classification", () => {
  test("socket errors", () => {
    expect(classifyNetError({ code: "dns" })).toBe("dns_failed");
    expect(classifyNetError({ code: "refused" })).toBe("tcp_refused");
    expect(classifyNetError({ code: "timeout" })).toBe("tcp_timeout");
    expect(classifyNetError({ code: "reset" })).toBe("tcp_reset");
    expect(classifyNetError({ code: "tls", detail: "unknown_ca" })).toBe("tls_failed");
    expect(classifyNetError({ code: "unreachable" })).toBe("link_down");
    expect(classifyNetError({ code: "closed" })).toBe("broker_closed");
    // WebSocket: a refused upgrade is its own code; bad frames are the broker's protocol errors; a close frame is
    // an orderly close.
    expect(classifyNetError({ code: "ws", detail: "http_404" })).toBe("websocket_failed");
    expect(classifyNetError({ code: "ws", detail: "no_response" })).toBe("websocket_failed");
    expect(classifyNetError({ code: "ws", detail: "frame_masked" })).toBe("protocol_error");
    expect(classifyNetError({ code: "closed", detail: "close_1001" })).toBe("broker_closed");
  });

  test("MQTT 3.1.1 CONNACK return codes, as mosquitto uses them", () => {
    expect(classifyConnack(4, 1, false)).toBe("protocol_rejected");
    expect(classifyConnack(4, 2, false)).toBe("client_id_rejected");
    expect(classifyConnack(4, 3, false)).toBe("server_unavailable");
    expect(classifyConnack(4, 4, true)).toBe("bad_credentials");
    // mosquitto: 5 for a wrong password or unknown user, and for an anonymous client it does not allow.
    expect(classifyConnack(4, 5, true)).toBe("bad_credentials");
    expect(classifyConnack(4, 5, false)).toBe("not_authorized");
    expect(classifyConnack(4, 42, false)).toBe("server_unavailable");
  });

  test("MQTT 5.0 CONNACK reason codes", () => {
    const cases: [number, boolean, Code][] = [
      [0x80, false, "server_unavailable"],
      [0x84, false, "protocol_rejected"],
      [0x85, false, "client_id_rejected"],
      [0x86, true, "bad_credentials"],
      [0x87, true, "bad_credentials"],
      [0x87, false, "not_authorized"],
      [0x88, false, "server_unavailable"],
      [0x89, false, "server_unavailable"],
      [0x8a, true, "not_authorized"],
      [0x8c, true, "bad_credentials"],
      [0x95, false, "packet_too_large"],
      [0x97, false, "quota_exceeded"],
      [0x9c, false, "server_moved"],
      [0x9d, false, "server_moved"],
      [0x9f, false, "quota_exceeded"],
    ];
    for (const [reason, user, code] of cases)
      expect([reason, classifyConnack(5, reason, user)]).toEqual([reason, code]);
  });

  test("MQTT 5.0 DISCONNECT reason codes from the broker", () => {
    expect(classifyDisconnect(0x8e)).toBe("session_taken_over");
    expect(classifyDisconnect(0x8d)).toBe("keepalive_timeout");
    expect(classifyDisconnect(0x9c)).toBe("server_moved");
    expect(classifyDisconnect(0x9f)).toBe("quota_exceeded");
    expect(classifyDisconnect(0x95)).toBe("packet_too_large");
    expect(classifyDisconnect(0x82)).toBe("protocol_error");
    expect(classifyDisconnect(0x87)).toBe("not_authorized");
    expect(classifyDisconnect(0x8b)).toBe("server_disconnect");
    expect(classifyDisconnect(0x00)).toBe("server_disconnect");
  });
});
