// The packet trace (`trace on`): one line of decoded fields per packet, never a credential or a secret setting.

import { clip, TOPIC_SHOWN } from "tether/app/device";
import { tokenize } from "tether/diag/console";
import { type Fields, isSecretKey } from "tether/diag/log";
import { toBytes, toText } from "tether/mqtt/bytes";
import { frozen } from "tether/mqtt/frozen";
import { PACKET_NAMES, type Packet } from "tether/mqtt/packets";

/**
 * A trace line's fields. `size` is the packet's length when known (0: not). A command arriving on `cmdTopic` shows
 * with the value of a secret setting hidden: it is only registered as a secret once the command has run.
 */
export function packetFields(packet: Packet, size: number, cmdTopic: string): Fields {
  const p = packet as unknown as Record<string, unknown>;
  const fields: Record<string, string | number | boolean | undefined> = { type: PACKET_NAMES[packet.type] };
  if (size) fields.size = size;
  if (typeof p.packetId === "number") fields.id = p.packetId;
  if (typeof p.qos === "number") fields.qos = p.qos;
  if (p.dup) fields.dup = 1;
  if (p.retain) fields.retain = 1;
  if (typeof p.topic === "string") fields.topic = clip(p.topic, TOPIC_SHOWN);
  if (typeof p.reasonCode === "number") fields.rc = p.reasonCode;
  const properties = p.properties as Record<string, unknown> | undefined;
  if (properties) {
    for (const { name, field } of TRACED) {
      const value = properties[name];
      if (typeof value === "number" || typeof value === "string") fields[field] = value;
    }
  }
  if (p.payload instanceof Uint8Array)
    fields.payload = preview(p.topic === cmdTopic ? redactCommand(p.payload) : p.payload);
  // CONNECT: never its password, and only whether a user name was sent.
  if (typeof p.clientId === "string") {
    fields.client_id = p.clientId;
    fields.user = p.username ? "set" : "none";
    fields.keepalive = p.keepAlive as number;
  }
  return fields;
}

/** `config set <secret key> <value>` with the value replaced by `***`; any other command as it is. */
function redactCommand(payload: Uint8Array): Uint8Array {
  let words: string[] = [];
  try {
    words = tokenize(toText(payload) ?? "");
  } catch {}
  return words[0] === "config" && words[1] === "set" && isSecretKey(words[2] ?? "")
    ? toBytes(`config set ${words[2]} ***`)
    : payload;
}

/** MQTT 5 properties a trace line shows (never user properties or correlation data: they may be anything). */
const TRACED = frozen<{ name: string; field: string }>([
  { name: "topicAlias", field: "alias" },
  { name: "reasonString", field: "reason_string" },
  { name: "assignedClientIdentifier", field: "assigned_id" },
  { name: "receiveMaximum", field: "receive_max" },
  { name: "topicAliasMaximum", field: "alias_max" },
  { name: "maximumPacketSize", field: "max_packet" },
  { name: "sessionExpiryInterval", field: "session_expiry" },
  { name: "messageExpiryInterval", field: "expiry" },
  { name: "responseTopic", field: "response_topic" },
  { name: "serverReference", field: "server_reference" },
  { name: "subscriptionIdentifier", field: "sub_id" },
  { name: "requestResponseInformation", field: "req_response" },
  { name: "requestProblemInformation", field: "req_problem" },
  { name: "responseInformation", field: "response_info" },
  { name: "authenticationMethod", field: "auth_method" },
]);

const PREVIEW = 32;

/** The first bytes of a payload as text when they are text, else as hex. */
function preview(payload: Uint8Array): string {
  const head = payload.subarray(0, PREVIEW);
  const text = toText(head);
  let shown = "";
  if (text !== undefined && !hasControl(text)) shown = text;
  else for (const b of head) shown += (b < 16 ? "0" : "") + b.toString(16);
  return payload.length > PREVIEW ? `${shown}...(${payload.length})` : shown;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 32) return true;
  return false;
}
