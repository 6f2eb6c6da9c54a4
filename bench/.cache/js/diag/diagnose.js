import { classifyConnack, classifyDisconnect, classifyNetError } from "tether/diag/codes";
import { CONNACK, DISCONNECT, PUBACK, PUBREC, SUBACK } from "tether/mqtt/packets";
import { reasonName } from "tether/mqtt/reasons";
class Diagnoser {
  constructor(options, report) {
    this.options = options;
    this.report = report;
  }
  options;
  report;
  /** Short-lived connections in a row that the broker closed without a word; and all short-lived ones. */
  silentCloses = 0;
  shortLives = 0;
  address = "";
  broker = "";
  /** link_down was reported and the link has not come back since: one line per outage. */
  linkDown = false;
  observe(event) {
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
          if (rc >= 128) {
            this.report({
              code: "subscribe_denied",
              fields: {
                filter: event.topicFilters[i],
                reason: this.reason(rc, SUBACK),
                reason_string: event.reasonString
              }
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
              reason: this.reason(c.reasonCode, c.qos === 1 ? PUBACK : PUBREC)
            }
          });
        }
        return;
      }
      case "link":
        if (event.up) this.linkDown = false;
        else this.linkLost("lost");
        return;
      case "waiting":
        if (event.delay < 0) this.linkLost("waiting");
        return;
    }
  }
  linkLost(state) {
    if (this.linkDown) return;
    this.linkDown = true;
    this.report({ code: "link_down", fields: { link: "down", state, broker: this.broker || void 0 } });
  }
  closed(cause, uptime, idle) {
    if (cause.kind === "local") return;
    const where = { broker: this.broker, address: this.address || void 0 };
    const code = classifyCause(cause, this.options.version, this.options.sentUser);
    const fields = { ...where, ...this.facts(cause) };
    if (uptime >= 0) fields.uptime = uptime;
    if (cause.kind === "net" || cause.kind === "keepalive_timeout") fields.idle = idle;
    if (code === "link_down" && cause.kind === "net" && cause.error.detail === "link_down") return;
    this.report({ code, fields });
    const short = uptime >= 0 && uptime < this.options.shortLived;
    const silent = short && code === "broker_closed";
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
          pattern: "closed by broker soon after CONNACK"
        }
      });
    } else if (this.shortLives >= n && !silent) {
      this.report({ code: "flapping", fields: { ...where, short_connections: this.shortLives, last_uptime: uptime } });
    }
  }
  facts(cause) {
    switch (cause.kind) {
      case "net":
        return { error: cause.error.code, detail: cause.error.detail };
      case "connack":
        return {
          reason: this.reason(cause.reasonCode, CONNACK),
          reason_string: cause.reasonString,
          server_reference: cause.serverReference,
          user: this.options.sentUser ? "set" : "none"
        };
      case "connack_timeout":
        return { waited: cause.waited };
      case "server_disconnect":
        return {
          reason: this.reason(cause.reasonCode, DISCONNECT),
          reason_string: cause.reasonString,
          server_reference: cause.serverReference
        };
      case "protocol":
        return { error: cause.code, detail: cause.message };
      case "keepalive_timeout":
        return { waited: cause.waited };
      case "local":
        return { reason: cause.reason };
    }
  }
  reason(code, packetType) {
    const hex = code < 16 ? `0x0${code.toString(16)}` : `0x${code.toString(16)}`;
    return `${hex} ${reasonName(code, packetType, this.options.version)}`;
  }
}
function classifyCause(cause, version, sentUser) {
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
export {
  Diagnoser,
  classifyCause
};
