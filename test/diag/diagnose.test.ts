// The diagnoser's patterns across connections, fed the supervisor's events by hand: which evidence names a
// session takeover, a flapping link or a NAT idle cut, and that each is named for its evidence only.

import type { ClientEvent } from "tether/client/client";
import type { CloseCause } from "tether/client/connection";
import { type DiagnoseOptions, Diagnoser, type Finding, NAT_IDLE_FLOOR } from "tether/diag/diagnose";

const broker = { host: "10.0.0.5", port: 1883, tls: false };
const FIN: CloseCause = { kind: "net", error: { code: "closed", detail: "" } };
const RST: CloseCause = { kind: "net", error: { code: "reset", detail: "ECONNRESET" } };

function diagnoser(options: Partial<DiagnoseOptions> = {}) {
  const findings: Finding[] = [];
  const d = new Diagnoser(
    { version: 4, sentUser: false, shortLived: 60000, repeats: 3, keepsSession: true, tunerIdle: 15000, ...options },
    (finding) => findings.push(finding),
  );
  const feed = (event: ClientEvent) => d.observe(event);
  /** One connection: CONNACK (session present or not), then the end after `uptime` ms, `idle` ms after the last packet. */
  const life = (sessionPresent: boolean, uptime: number, idle: number, cause: CloseCause = FIN) => {
    feed({ type: "connecting", broker, attempt: 1 });
    feed({ type: "connected", sessionPresent, rtt: 5, keepAlive: 60, requeued: 0, resent: 0 });
    feed({ type: "closed", cause, uptime, idle });
  };
  /** The pattern codes named so far (not the per-close codes). */
  const patterns = () =>
    findings
      .map((f) => f.code)
      .filter((code) => code === "session_taken_over" || code === "flapping" || code === "nat_idle_timeout_suspected");
  return { findings, life, feed, patterns };
}

describe("one connection's findings", () => {
  test("an IPv6 broker is named in brackets", () => {
    const d = diagnoser();
    d.feed({ type: "connecting", broker: { host: "::1", port: 18833, tls: false }, attempt: 1 });
    d.feed({ type: "closed", cause: { kind: "net", error: { code: "refused", detail: "" } }, uptime: -1, idle: 0 });
    expect(d.findings[0]).toMatchObject({ code: "tcp_refused", fields: { broker: "[::1]:18833" } });
  });

  test("a message the device gives up as too large for the broker is packet_too_large, not publish_denied", () => {
    const d = diagnoser({ version: 5 });
    const message = { topic: "t", payload: new Uint8Array(500), qos: 1 as const, retain: false };
    const completion = { packetId: 1, qos: 1 as const, reasonCode: 0x95, ok: false, message };
    d.feed({ type: "completed", completion, ack: 3 });
    expect(d.findings).toEqual([{ code: "packet_too_large", fields: { topic: "t", qos: 1, action: "not_sent" } }]);
    // The broker's own 0x95 in a PUBACK is its refusal.
    d.feed({ type: "completed", completion, ack: 4 });
    expect(d.findings[1]).toMatchObject({ code: "publish_denied" });
  });
});

describe("session_taken_over", () => {
  test("a twin with a clean session: our next CONNACKs find the session gone", () => {
    const d = diagnoser();
    // The same uptime each time (the twin reconnects at once): the lost session outweighs the regular timing.
    d.life(false, 200, 190);
    d.life(false, 200, 190);
    expect(d.patterns()).toEqual([]);
    d.life(false, 200, 190);
    expect(d.findings.at(-1)).toMatchObject({
      code: "session_taken_over",
      fields: { closes: 3, evidence: "session gone on reconnect", broker: "10.0.0.5:1883" },
    });
  });

  test("a twin with a persistent session: resumed every time, but at the twin's random reconnect times", () => {
    const d = diagnoser();
    for (const uptime of [1500, 130, 380]) d.life(true, uptime, uptime - 10);
    expect(d.findings.at(-1)).toMatchObject({
      code: "session_taken_over",
      fields: { evidence: "irregular uptimes 1500/130/380 ms" },
    });
  });

  test("the verdict holds for the streak: a later run of similar uptimes does not turn it into flapping", () => {
    const d = diagnoser();
    for (const uptime of [1500, 130, 380, 300, 310, 305, 300]) d.life(true, uptime, uptime - 10);
    expect(new Set(d.patterns())).toEqual(new Set(["session_taken_over"]));
    // A connection that lasted ends the streak; the next one is judged afresh.
    d.life(true, 120000, 1000);
    for (let i = 0; i < 4; i++) d.life(true, 300, 290);
    expect(d.patterns().at(-1)).toBe("flapping");
  });

  test("DISCONNECT 0x8E (5.0) names it on every close; the streak is then never called flapping", () => {
    const d = diagnoser({ version: 5 });
    const taken: CloseCause = { kind: "server_disconnect", reasonCode: 0x8e };
    for (let i = 0; i < 5; i++) d.life(true, 300, 290, taken);
    expect(d.findings.map((f) => f.code)).toEqual(Array(5).fill("session_taken_over"));
    expect(d.findings[0].fields.reason).toBe("0x8e Session taken over");
  });

  test("without a session to keep (clean start) a CONNACK without one is no evidence", () => {
    const d = diagnoser({ keepsSession: false });
    for (let i = 0; i < 4; i++) d.life(false, 300, 290);
    expect(d.patterns()).toEqual(["flapping"]);
  });
});

describe("flapping", () => {
  test("cut at the same uptime after every CONNACK, session resumed: named on the fourth, never takeover", () => {
    const d = diagnoser();
    d.life(false, 302, 295);
    for (const uptime of [298, 305]) d.life(true, uptime, uptime - 8);
    expect(d.patterns()).toEqual([]);
    d.life(true, 301, 290);
    expect(d.findings.at(-1)).toMatchObject({
      code: "flapping",
      fields: { short_connections: 4, evidence: "cut at the same uptime 302/298/305/301 ms" },
    });
  });

  test("timing noise on the cut delays the verdict; it does not make a takeover", () => {
    const d = diagnoser();
    for (const uptime of [351, 284, 322, 287]) d.life(true, uptime, uptime - 5);
    expect(d.patterns()).toEqual([]);
    d.life(true, 300, 295);
    expect(d.findings.at(-1)).toMatchObject({
      code: "flapping",
      fields: { short_connections: 5, evidence: "cut at the same uptime 284/322/287/300 ms" },
    });
  });

  test("regular resets sooner than any NAT forgets a flow are a cut, not an idle timeout", () => {
    const d = diagnoser();
    for (let i = 0; i < 4; i++) d.life(true, 300, NAT_IDLE_FLOOR / 4, RST);
    expect(d.patterns()).toEqual(["flapping"]);
  });

  test("connections that keep ending with protocol errors", () => {
    const d = diagnoser();
    const bad: CloseCause = { kind: "protocol", code: "malformed", message: "bad flags" };
    d.life(false, 5, 1, bad);
    d.life(true, 40, 1, bad);
    d.life(true, 12, 1, bad);
    expect(d.findings.at(-1)).toMatchObject({ code: "flapping", fields: { evidence: "short connections" } });
    expect(d.patterns()).toEqual(["flapping"]);
  });

  test("long connections make no pattern", () => {
    const d = diagnoser();
    for (let i = 0; i < 6; i++) d.life(true, 90000 + i * 1000, 500);
    expect(d.patterns()).toEqual([]);
  });
});

describe("nat_idle_timeout_suspected", () => {
  test("resets at the same idle time whatever the uptime, below what the tuner covers: named, never takeover", () => {
    const d = diagnoser();
    d.life(false, 2010, 2000, RST);
    d.life(true, 2720, 2005, RST);
    expect(d.patterns()).toEqual([]);
    d.life(true, 3400, 1980, RST);
    expect(d.findings.at(-1)).toMatchObject({
      code: "nat_idle_timeout_suspected",
      fields: { idle_s: "2/2/2", uptime_s: "2/2.7/3.4", below: "keepAliveMin" },
    });
    d.life(true, 2500, 2000, RST);
    expect(new Set(d.patterns())).toEqual(new Set(["nat_idle_timeout_suspected"]));
  });

  test("resets at idle times the tuner covers are left to it: no pattern named here", () => {
    const d = diagnoser({ shortLived: 60000, tunerIdle: 15000 });
    for (const uptime of [20000, 31000, 45000, 26000]) d.life(true, uptime, 20000, RST);
    expect(d.patterns()).toEqual([]);
    expect(d.findings.map((f) => f.code)).toEqual(["tcp_reset", "tcp_reset", "tcp_reset", "tcp_reset"]);
  });

  test("pings unanswered after the same quiet time are the tuner's to name; they make no flapping either", () => {
    const d = diagnoser({ tunerIdle: 2000 });
    const ping: CloseCause = { kind: "keepalive_timeout", waited: 2000, idle: 4000 };
    for (let i = 0; i < 5; i++) d.life(true, 4100 + i * 10, 4000, ping);
    expect(d.patterns()).toEqual([]);
  });

  test("without a tuner (the Moddable-style API) every NAT idle timeout is named here", () => {
    const d = diagnoser({ tunerIdle: undefined });
    for (const uptime of [20000, 31000, 45000]) d.life(true, uptime, 20000, RST);
    expect(d.findings.at(-1)).toMatchObject({
      code: "nat_idle_timeout_suspected",
      fields: { idle_s: "20/20/20", uptime_s: "20/31/45", below: undefined },
    });
  });

  test("dissimilar idle times are no NAT timeout", () => {
    const d = diagnoser();
    for (const idle of [2000, 5000, 3100]) d.life(true, idle + 10, idle, RST);
    expect(d.patterns()).toEqual(["session_taken_over"]);
  });
});
