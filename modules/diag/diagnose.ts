// Turns what the supervisor reports into findings: a failure code from codes.ts, the facts that proved it, and
// the hint. Single events are classified by the codes.ts rules; patterns across connections (the same client id
// on two devices, flapping) are recognised here, because no single close shows them.
import type { ClientEvent } from "tether/client/client";
import type { CloseCause } from "tether/client/connection";
import { type Code, classifyConnack, classifyDisconnect, classifyNetError } from "tether/diag/codes";
import type { Fields } from "tether/diag/log";
import { CONNACK, DISCONNECT, type ProtocolVersion, PUBACK, PUBREC, SUBACK } from "tether/mqtt/packets";
import { reasonName } from "tether/mqtt/reasons";

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
}

export class Diagnoser {
  /** Short-lived connections in a row that the broker closed without a word; and all short-lived ones. */
  private silentCloses = 0;
  private shortLives = 0;
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
        this.broker = `${event.broker.host}:${event.broker.port}`;
        this.address = "";
        return;
      case "resolved":
        this.address = event.address;
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
        if (!c.ok) {
          this.report({
            code: "publish_denied",
            fields: {
              topic: c.message.topic,
              qos: c.qos,
              reason: this.reason(c.reasonCode, c.qos === 1 ? PUBACK : PUBREC),
            },
          });
        }
        return;
      }
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

    const short = uptime >= 0 && uptime < this.options.shortLived;
    // The broker ends a taken-over connection with FIN, or with RST when our last packet was still unread.
    const silent = short && (code === "broker_closed" || code === "tcp_reset");
    this.silentCloses = silent ? this.silentCloses + 1 : 0;
    this.shortLives = short ? this.shortLives + 1 : uptime >= 0 ? 0 : this.shortLives;
    const n = this.options.repeats;
    if (this.silentCloses >= n) {
      this.report({
        code: "session_taken_over",
        fields: {
          ...where,
          closes: this.silentCloses,
          last_uptime: uptime,
          pattern: "closed by the broker soon after CONNACK, no DISCONNECT",
        },
      });
    } else if (this.shortLives >= n && !silent) {
      this.report({ code: "flapping", fields: { ...where, short_connections: this.shortLives, last_uptime: uptime } });
    }
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
    const hex = code < 16 ? `0x0${code.toString(16)}` : `0x${code.toString(16)}`;
    return `${hex} ${reasonName(code, packetType, this.options.version)}`;
  }
}

/** The failure code for the way a connection ended (not for a local close, which is no failure). */
export function classifyCause(cause: CloseCause, version: ProtocolVersion, sentUser: boolean): Code {
  switch (cause.kind) {
    case "net":
      return classifyNetError(cause.error);
    case "connack":
      return classifyConnack(version, cause.reasonCode, sentUser);
    case "connack_timeout":
      return "connack_timeout";
    case "server_disconnect":
      return classifyDisconnect(cause.reasonCode);
    case "protocol":
      return cause.code === "packet_too_large" ? "packet_too_large" : "protocol_error";
    case "keepalive_timeout":
      return "keepalive_timeout";
    case "local":
      return "broker_closed";
  }
}
