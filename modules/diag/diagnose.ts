// Turns what the supervisor reports into findings: a failure code from codes.ts, the facts that proved it, and the hint
// (failures.ts). Single events are classified by the codes.ts rules; patterns across connections are recognised here,
// because no single close shows them. Three look alike (connections that end soon after CONNACK, again and again) and
// are told apart by their evidence:
// - session_taken_over: another client with our id. The broker closes us without a word (mosquitto sends no
//   DISCONNECT 0x8E, even in 5.0), at times that follow the twin's randomised reconnects: irregular uptimes; and a
//   twin with a clean session leaves us no session on our next CONNACK.
// - flapping: something cuts every connection at the same time after CONNACK (regular uptimes, whatever the
//   traffic), or connections keep ending for other reasons (protocol errors) soon after they start.
// - nat_idle_timeout_suspected: connections die (reset, or pings unanswered) at the same idle time after the last
//   packet (regular idle times, whatever the uptime). The keep-alive tuner names and works around the idle times it can cover
//   (keepAliveMin and above); the shorter ones are named here.
// All three read times on the device's clock, and a device whose event loop runs late (busy, starved of CPU) reads
// every event late: timing noise can blur regular times but never make them, and it can make regular times look
// irregular. So only the broker's word or a lost session accuse a twin, or uptimes irregular beyond that noise: as
// far apart as the loop's lateness (how late the backoff timers fired) cannot explain, each from every other, so
// that one event read late for a moment cannot either. Regular times are read with the same allowance.
import { hostPort } from "tether/client/broker";
import type { ClientEvent } from "tether/client/client";
import type { CloseCause } from "tether/client/connection";
import { longest, shortest, similar, TUNER_DEFAULTS } from "tether/client/idle-times";
import { type Code, classifyCause } from "tether/diag/codes";
import { failureLine } from "tether/diag/failures";
import type { Fields } from "tether/diag/log";
import { CONNACK, DISCONNECT, type ProtocolVersion, PUBLISH, SUBACK } from "tether/mqtt/packets";
import { reasonText } from "tether/mqtt/reasons";

/** MQTT 5 reason code 0x95 Packet too large. */
const PACKET_TOO_LARGE = 0x95;

export interface Finding {
  code: Code;
  fields: Fields;
}

export interface DiagnoseOptions {
  version: ProtocolVersion;
  /** Whether the CONNECT carries a user name: decides bad_credentials vs not_authorized for mosquitto's answer. */
  sentUser: boolean;
  /** A connection that ends sooner than this (ms after CONNACK) counts as short-lived. */
  shortLived: number;
  /** How many short-lived connections in a row make a pattern. */
  repeats: number;
  /**
   * Whether the broker should keep our session between connections (no clean start; in 5.0 a session expiry): only
   * then is a CONNACK without a session evidence that someone else ended it. Default false.
   */
  keepsSession?: boolean;
  /**
   * The shortest idle time, ms, the keep-alive tuner acts on (keepAliveMin, or the keep alive if lower): regular
   * idle deaths from there up are the tuner's to name. Without one (no tuner), all are named here.
   */
  tunerIdle?: number;
}

/**
 * No NAT or firewall forgets an established flow within a second of silence: regular cuts sooner than this after
 * the last packet are something cutting connections (flapping), not an idle timeout.
 */
export const NAT_IDLE_FLOOR = 1000;

/** One connection that ended after CONNACK, as the patterns see it. */
interface Life {
  uptime: number;
  code: Code;
  /** Its CONNACK found no session though the broker should have kept ours. */
  lost: boolean;
  /** How late the timer that dialled it fired, ms: the event loop's lateness around it. */
  late: number;
}

/**
 * What the patterns keep of the connections that ended after CONNACK: made when the first one ends, so that a
 * client whose connection never drops holds none of it.
 */
class Past {
  /** The current streak of short-lived connections, oldest first, at most 2 * repeats (see pattern). */
  lives: Life[] = [];
  /** How many connections the current streak has had. */
  streak = 0;
  /** What the current streak was named, once its evidence decided. */
  verdict: Code | undefined;
  /** What the verdict rests on, for its line; empty when the broker's own words said it. */
  evidence = "";
  /** Idle times of the latest idle deaths after CONNACK, in a row, at most samples; and their uptimes. */
  idleDeaths: number[] = [];
  uptimes: number[] = [];
  /** How late the loop ran around each of idleDeaths (see Life.late). */
  idleLate: number[] = [];

  /** The most the loop was late around the current streak's connections, ms. */
  get lateness(): number {
    let most = 0;
    for (const life of this.lives) if (life.late > most) most = life.late;
    return most;
  }

  decide(verdict: Code, evidence: string): void {
    this.verdict = verdict;
    this.evidence = evidence;
  }
}

export class Diagnoser {
  /**
   * A finding's failure line (failures.ts), here for the drop-in's Client, which has the hints only when its build has
   * the diagnoser.
   */
  static readonly failureLine = failureLine;
  /** The patterns' memory, from the first connection that ended after CONNACK on. */
  private past: Past | undefined;
  /** How late the timer that dialled the current connection fired (0: dialled at once). */
  private late = 0;
  /** Whether the current connection's CONNACK found our session gone; whether any CONNACK came before it. */
  private lost = false;
  private connectedBefore = false;
  private address = "";
  private broker = "";
  /** link_down was reported and the link has not come back since: one line per outage. */
  private linkDown = false;

  constructor(
    private readonly options: DiagnoseOptions,
    private readonly report: (finding: Finding) => void,
  ) {}

  observe(event: ClientEvent): void {
    switch (event.type) {
      case "connecting":
        this.broker = hostPort(event.broker);
        this.address = "";
        this.late = event.late ?? 0;
        return;
      case "resolved":
        this.address = event.address;
        return;
      case "connected":
        this.lost = this.options.keepsSession === true && this.connectedBefore && !event.sessionPresent;
        this.connectedBefore = true;
        return;
      case "closed":
        this.closed(event.cause, event.uptime, event.idle);
        return;
      case "subscribed":
        event.reasonCodes.forEach((rc, i) => {
          if (rc >= 0x80) {
            this.report({
              code: "subscribe_denied",
              fields: {
                filter: event.topicFilters[i],
                reason: this.reason(rc, SUBACK),
                reason_string: event.reasonString,
              },
            });
          }
        });
        return;
      case "completed": {
        const c = event.completion;
        if (!c.ok && event.ack === PUBLISH) {
          // Given up by the device itself: never sent, so no ACL is involved. Too large (for the broker's Maximum
          // Packet Size, learnt after it was queued) is a limit to raise; one that cannot be encoded had its warning.
          if (c.reasonCode === PACKET_TOO_LARGE) {
            this.report({
              code: "packet_too_large",
              fields: { topic: c.message.topic, qos: c.qos, action: "not_sent" },
            });
          }
        } else if (!c.ok) {
          this.report({
            code: "publish_denied",
            fields: {
              topic: c.message.topic,
              qos: c.qos,
              reason: this.reason(c.reasonCode, event.ack),
              reason_string: event.reasonString,
            },
          });
        }
        return;
      }
      case "loop":
        this.report({
          code: "reconnect_loop",
          fields: { cause: event.cause, count: event.count, broker: this.broker },
        });
        return;
      case "unsaved":
        this.report({
          code: "message_dropped",
          fields: { count: event.count ?? "unknown", reason: event.reason, when: event.when },
        });
        return;
      case "quarantined": {
        const { topic, qos, payload } = event.message;
        const cause = event.cause;
        this.report({
          code: "message_quarantined",
          fields: {
            topic,
            qos,
            bytes: payload.length,
            reason: classifyCause(cause, this.options.version, this.options.sentUser),
            closes: event.closes,
          },
        });
        return;
      }
      case "skipped":
        // A message over our maximum, skipped and acknowledged so that it is not redelivered (3.1.1).
        this.report({
          code: "packet_too_large",
          fields: { topic: event.topic, qos: event.qos, size: event.size, max: event.max, action: "skipped" },
        });
        return;
      case "link":
        if (event.up) this.linkDown = false;
        else this.linkLost("lost");
        return;
      case "waiting":
        // A negative delay: the supervisor waits for the link (also at boot, before any connection).
        if (event.delay < 0) this.linkLost("waiting");
        return;
    }
  }

  private linkLost(state: string): void {
    if (this.linkDown) return;
    this.linkDown = true;
    this.report({ code: "link_down", fields: { link: "down", state, broker: this.broker || undefined } });
  }

  private closed(cause: CloseCause, uptime: number, idle: number): void {
    if (cause.kind === "local") return;
    const where = { broker: this.broker, address: this.address || undefined };
    const code = classifyCause(cause, this.options.version, this.options.sentUser);
    const fields: Record<string, string | number | undefined> = { ...where, ...this.facts(cause) };
    if (uptime >= 0) {
      fields.uptime = uptime;
      if (cause.kind === "net" || cause.kind === "keepalive_timeout") fields.idle = idle;
    }
    if (code === "link_down" && cause.kind === "net" && cause.error.detail === "link_down") return; // told by "link"
    this.report({ code, fields });
    // Failed attempts neither make nor break a pattern of connections that ended after CONNACK.
    if (uptime < 0) return;
    this.past ??= new Past();
    const past = this.past;

    const { samples, tolerance } = TUNER_DEFAULTS;
    // Idle deaths, as the tuner counts them: a reset after `idle`, or a ping unanswered after that much quiet.
    if (code === "tcp_reset" || cause.kind === "keepalive_timeout") {
      keep(past.idleDeaths, cause.kind === "keepalive_timeout" ? idle - cause.waited : idle, samples);
      keep(past.uptimes, uptime, samples);
      keep(past.idleLate, this.late, samples);
    } else past.idleDeaths.length = past.uptimes.length = past.idleLate.length = 0;
    const lives = past.lives;
    if (uptime >= this.options.shortLived) {
      lives.length = past.streak = 0;
      past.verdict = undefined;
    } else {
      past.streak++;
      keep(lives, { uptime, code, lost: this.lost, late: this.late }, 2 * this.options.repeats);
    }

    // Deaths at the same idle time after the last packet, whatever the uptime: a NAT idle timeout, not a pattern
    // of short connections. The tuner names those it acts on; resets sooner than it acts are named here.
    const deaths = past.idleDeaths;
    const idleLate = longest(past.idleLate);
    if (deaths.length === samples && similar(deaths, tolerance, 2 * idleLate) && shortest(deaths) >= NAT_IDLE_FLOOR) {
      const tunerIdle = this.options.tunerIdle;
      if (tunerIdle === undefined || shortest(deaths) < tunerIdle) {
        this.report({
          code: "nat_idle_timeout_suspected",
          fields: {
            ...where,
            idle_s: deaths.map(seconds).join("/"),
            uptime_s: past.uptimes.map(seconds).join("/"),
            below: tunerIdle === undefined ? undefined : "keepAliveMin",
            late_ms: idleLate || undefined,
          },
        });
      }
      return;
    }
    const pattern = this.pattern(past, tolerance);
    if (pattern === "session_taken_over" && past.evidence) {
      this.report({
        code: pattern,
        fields: {
          ...where,
          closes: past.streak,
          last_uptime: uptime,
          pattern: "closed by the broker soon after CONNACK, no DISCONNECT",
          evidence: past.evidence,
          late_ms: past.lateness || undefined,
        },
      });
    } else if (pattern === "flapping") {
      this.report({
        code: pattern,
        fields: {
          ...where,
          short_connections: past.streak,
          last_uptime: uptime,
          evidence: past.evidence,
          late_ms: past.lateness || undefined,
        },
      });
    }
  }

  /**
   * What the current streak of short-lived connections shows, decided once per streak: a verdict on weak evidence
   * is not overturned by a later coincidence (a twin's random reconnect delays that happen to look regular).
   */
  private pattern(past: Past, tolerance: number): Code | undefined {
    const n = this.options.repeats;
    const lives = past.lives;
    if (past.verdict || lives.length < n) return past.verdict;
    const last = lives.slice(-n);
    const regular = lives.slice(-(n + 1));
    // The broker hung up without a word (mosquitto ends a taken-over connection with FIN, or RST when our last
    // packet was still unread).
    const silent = last.every((life) => life.code === "broker_closed" || life.code === "tcp_reset");
    const uptimes = (list: Life[]) => list.map((life) => life.uptime);
    // An uptime is read late at its CONNACK, at its close or both: two of them differ by up to twice the lateness.
    const slack = 2 * past.lateness;
    if (last.some((life) => life.code === "session_taken_over")) {
      // The broker said so itself (DISCONNECT 0x8E) and each close's line names it: no line to add, and no flapping.
      past.decide("session_taken_over", "");
    } else if (silent && last.some((life) => life.lost)) {
      past.decide("session_taken_over", "session gone on reconnect");
    } else if (lives.length > n && similar(uptimes(regular), tolerance)) {
      // One sample more for regular uptimes: n random delays of a twin look regular now and then, n + 1 rarely.
      past.decide("flapping", `cut at the same uptime ${uptimes(regular).join("/")} ms`);
    } else if (slack > 0 && lives.length === 2 * n && similar(uptimes(lives), tolerance, slack)) {
      // Alike only with the late loop's allowance, which a twin's random delays meet more often: twice the samples.
      past.decide("flapping", `cut at the same uptime ${uptimes(lives).join("/")} ms`);
    } else if (silent && apart(uptimes(last), 2 * tolerance, slack)) {
      // Clearly irregular only, so that timing noise on a cut (a busy device, a slow link) cannot pass for a twin:
      // in between, the verdict waits for the next connection.
      past.decide("session_taken_over", `irregular uptimes ${uptimes(last).join("/")} ms`);
    } else if (!silent) {
      past.decide("flapping", "short connections");
    }
    return past.verdict;
  }

  private facts(cause: CloseCause): Record<string, string | number | undefined> {
    switch (cause.kind) {
      case "net":
        return { error: cause.error.code, detail: cause.error.detail };
      case "connack":
        return {
          reason: this.reason(cause.reasonCode, CONNACK),
          reason_string: cause.reasonString,
          server_reference: cause.serverReference,
          user: this.options.sentUser ? "set" : "none",
        };
      case "connack_timeout":
        return { waited: cause.waited };
      case "server_disconnect":
        return {
          reason: this.reason(cause.reasonCode, DISCONNECT),
          reason_string: cause.reasonString,
          server_reference: cause.serverReference,
        };
      case "protocol":
        return { error: cause.code, detail: cause.message };
      case "keepalive_timeout":
        return { waited: cause.waited };
      case "local":
        return { reason: cause.reason };
    }
  }

  private reason(code: number, packetType: number): string {
    return reasonText(code, packetType, this.options.version);
  }
}

/** Appends `value`, keeping the latest `most`. */
function keep<T>(list: T[], value: T, most: number): void {
  list.push(value);
  if (list.length > most) list.shift();
}

/**
 * Whether times are all clearly apart: no two of them similar (see keepalive-tuner.ts). One time read late cannot
 * make a list apart: the others stay similar.
 */
function apart(times: readonly number[], tolerance: number, slack: number): boolean {
  const sorted = times.slice().sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! <= sorted[i - 1]! * (1 + tolerance) + slack) return false;
  return sorted.length > 1;
}

/** ms as seconds with one decimal at most. */
function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
