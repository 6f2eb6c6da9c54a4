// Failure codes: the stable names the device prints when it cannot talk to its broker, each with the layer it
// failed at and a hint for the field engineer reading the serial port. The same table generates
// docs/troubleshooting.md (scripts/troubleshooting.ts), so the doc and the device never disagree.
//
// The hints follow what brokers really answer, not only what the specification allows (checked against
// mosquitto 2.0): mosquitto refuses a wrong password or unknown user with 5 / 0x87, never 4 / 0x86;
// denials by an acl_file are silent; a client-id takeover and a broker shutdown close the socket with no DISCONNECT.

import { ERROR, type Level, WARN } from "tether/diag/log";
import type { NetError } from "tether/host";
import type { ProtocolVersion } from "tether/mqtt/packets";

export type Layer = "link" | "dns" | "tcp" | "tls" | "mqtt" | "auth" | "session" | "keepalive" | "resource";

export type Code =
  | "link_down"
  | "dns_failed"
  | "tcp_refused"
  | "tcp_timeout"
  | "tcp_reset"
  | "tls_failed"
  | "connack_timeout"
  | "protocol_rejected"
  | "client_id_rejected"
  | "server_unavailable"
  | "protocol_error"
  | "packet_too_large"
  | "broker_closed"
  | "server_disconnect"
  | "server_moved"
  | "quota_exceeded"
  | "bad_credentials"
  | "not_authorized"
  | "subscribe_denied"
  | "publish_denied"
  | "session_taken_over"
  | "flapping"
  | "keepalive_timeout"
  | "nat_idle_timeout_suspected"
  | "low_memory";

export interface Cause {
  cause: string;
  fix: string;
}

export interface FailureInfo {
  code: Code;
  layer: Layer;
  /** What happened, in one sentence. */
  summary: string;
  /** What to check first; printed on the device's failure line, so one line. */
  hint: string;
  /** Likely causes with their fixes, most likely first (for the doc). */
  causes: readonly Cause[];
  /** Typical detail fields of the failure line, for the doc's example (the firmware prints the real ones). */
  example: Readonly<Record<string, string | number>>;
}

const BROKER = "mqtt://10.0.0.5:1883";

/** In the order of the layers, bottom up: the order of the doc. */
export const FAILURES: readonly FailureInfo[] = [
  {
    code: "link_down",
    layer: "link",
    summary: "The network link (Wi-Fi) is down or has no route to the broker's address.",
    hint: "check Wi-Fi: the ssid/password settings, signal strength and the access point; the device reconnects when the link returns",
    causes: [
      {
        cause: "Wrong Wi-Fi name or passphrase.",
        fix: "Set `ssid` and `password` (`mcconfig ssid=... password=...`).",
      },
      {
        cause: "Weak signal or the access point is off or rebooting.",
        fix: "Move the device or the access point closer; check the access point's power and logs.",
      },
      {
        cause: "The network is 5 GHz only.",
        fix: "The ESP32 radio is 2.4 GHz only: enable 2.4 GHz on the access point.",
      },
      {
        cause: "No address from DHCP (pool exhausted) or no route to the broker's subnet.",
        fix: "Check the router's DHCP leases and that the broker's network is routed from the device's.",
      },
    ],
    example: { broker: BROKER, error: "unreachable" },
  },
  {
    code: "dns_failed",
    layer: "dns",
    summary: "The broker's host name did not resolve to an address.",
    hint: "check the host name in the broker setting (spelling) and the network's DNS server; try the broker's IP address to confirm",
    causes: [
      {
        cause: "A typo in the host name of `broker`.",
        fix: "Correct `broker`, e.g. `mqtt://broker.example.com:1883`.",
      },
      {
        cause: "The network's DHCP gives no working DNS server.",
        fix: "Check the router's DNS settings; meanwhile use the broker's IP address in `broker`.",
      },
      {
        cause: "The name only exists on another network (internal DNS, VPN) or is an mDNS `.local` name.",
        fix: "Use a name the device's network resolves, or the IP address.",
      },
    ],
    example: { broker: "mqtt://broker.example.com:1883", host: "broker.example.com" },
  },
  {
    code: "tcp_refused",
    layer: "tcp",
    summary: "The broker's host answered, but nothing accepts connections on that port (TCP RST).",
    hint: "check the port in the broker setting (1883 plain, 8883 TLS) and that the broker runs and listens on the network, not only on localhost",
    causes: [
      {
        cause: "The broker is not running.",
        fix: "Start it and read its log (`systemctl status mosquitto`, `journalctl -u mosquitto`).",
      },
      { cause: "Wrong port in `broker`.", fix: "Use the broker's listener port: 1883 for mqtt://, 8883 for mqtts://." },
      {
        cause: "mosquitto 2.x without a `listener` line only listens on localhost.",
        fix: "Add `listener 1883` (and authentication: `password_file` or `allow_anonymous true`) to mosquitto.conf.",
      },
      { cause: "A firewall rejects the port.", fix: "Open the port on the broker host's firewall." },
    ],
    example: { broker: BROKER, error: "refused" },
  },
  {
    code: "tcp_timeout",
    layer: "tcp",
    summary: "No answer at all to the connection request within the timeout.",
    hint: "nothing answers at that address: check the IP/host in the broker setting, firewalls that drop the port, and routing from the device's network",
    causes: [
      {
        cause: "Wrong IP address, or the broker's machine is off.",
        fix: "Check `broker`; ping the address from a computer on the device's network.",
      },
      { cause: "A firewall silently drops the port.", fix: "Allow the port (1883/8883) from the device's network." },
      {
        cause: "Client isolation on a guest Wi-Fi, or no route/VPN to the broker's network.",
        fix: "Put the device on a network that can reach the broker.",
      },
      {
        cause: "The broker is overloaded and its listen queue is full.",
        fix: "Check the broker host's load and connection count.",
      },
    ],
    example: { broker: BROKER, error: "timeout" },
  },
  {
    code: "tcp_reset",
    layer: "tcp",
    summary: "An established connection was reset by the broker or something on the way.",
    hint: "the broker or a firewall/NAT/load balancer reset the connection: check the broker's log at that time and idle timeouts on the path",
    causes: [
      { cause: "The broker crashed or restarted.", fix: "Read the broker's log around that time." },
      {
        cause: "A firewall or NAT dropped the connection's state and answers with a reset.",
        fix: "Lower `keepAlive` below the path's idle timeout.",
      },
      {
        cause: "A load balancer or proxy in front of the broker closed the connection.",
        fix: "Raise its idle timeout above `keepAlive`, or lower `keepAlive`.",
      },
    ],
    example: { broker: BROKER, error: "reset", uptime: 312000 },
  },
  {
    code: "tls_failed",
    layer: "tls",
    summary:
      "The TLS handshake failed; `detail` says why where the platform knows: unknown_ca, expired, name_mismatch or handshake.",
    hint: "TLS failed, see detail: unknown_ca: give the device the broker's CA; expired: certificate dates or device clock; name_mismatch: the host in broker must match the certificate",
    causes: [
      {
        cause: "`unknown_ca`: the broker's certificate is not signed by a CA the device has (self-signed, private CA).",
        fix: "Add the CA certificate that signed the broker's certificate to the device's CA list.",
      },
      {
        cause:
          "`expired`: the certificate has expired, or is not yet valid because the device's clock is wrong (no time yet after boot).",
        fix: "Renew the broker's certificate; make sure the device gets the time (SNTP) before connecting.",
      },
      {
        cause:
          "`name_mismatch`: the host in `broker` is not among the certificate's names (CN/SAN), e.g. an IP address.",
        fix: "Connect by the name in the certificate, or issue a certificate that includes the name or IP used.",
      },
      {
        cause:
          "`handshake`: the broker requires a client certificate, no common TLS version/cipher (the ESP32 speaks TLS 1.2), or `mqtts://` to a plain MQTT port.",
        fix: "Use `mqtt://` for port 1883 and `mqtts://` for 8883; check `require_certificate` and `tls_version` on the broker.",
      },
      {
        cause: "Not enough free memory for the handshake (it needs tens of KB).",
        fix: "See low_memory: shrink the offline queue and message sizes.",
      },
    ],
    example: { broker: "mqtts://broker.example.com:8883", detail: "unknown_ca" },
  },
  {
    code: "connack_timeout",
    layer: "mqtt",
    summary: "The TCP (or TLS) connection opened and CONNECT was sent, but no CONNACK came back in time.",
    hint: "TCP works but no MQTT answer: check the port is an MQTT listener (not WebSockets/HTTP), mqtt:// vs mqtts:// matches it, and the broker's log",
    causes: [
      {
        cause:
          "The port is not plain MQTT: a WebSockets listener (often 8080/9001), an HTTP server, a TLS port used with `mqtt://`.",
        fix: "Use the broker's MQTT listener: 1883 with `mqtt://`, 8883 with `mqtts://`.",
      },
      {
        cause: "The broker is overloaded, or its authentication backend (plugin, HTTP/database auth) is slow.",
        fix: "Check the broker's load and its authentication backend's response time.",
      },
      {
        cause: "A proxy or captive portal accepts connections but does not forward them.",
        fix: "Test from a computer on the same network with `mosquitto_sub -d -h <host> -p <port> -t test`.",
      },
    ],
    example: { broker: BROKER, waited: 10000 },
  },
  {
    code: "protocol_rejected",
    layer: "mqtt",
    summary:
      "The broker refused the CONNECT's protocol: return code 1 (3.1.1) or 0x84 Unsupported Protocol Version (5.0), or 0x81/0x82/0x90/0x99-0x9B refusing what the CONNECT asked.",
    hint: "the broker does not accept this MQTT version or CONNECT: set mqttVersion=3.1.1, or upgrade the broker",
    causes: [
      {
        cause: "The broker does not speak MQTT 5.0 (mosquitto before 1.6, many embedded brokers).",
        fix: "Set `mqttVersion` to `3.1.1`.",
      },
      {
        cause: "The broker only accepts some versions (mosquitto 2.1 `accept_protocol_versions`).",
        fix: "Set `mqttVersion` to one the listener accepts.",
      },
      {
        cause:
          "A 5.0 broker refuses the will message: topic invalid (0x90), retain (0x9A) or QoS (0x9B) not supported.",
        fix: "Check the will's topic under `topicPrefix` and the broker's maximum QoS and retain support.",
      },
    ],
    example: { broker: BROKER, reason: 1, version: "3.1.1" },
  },
  {
    code: "client_id_rejected",
    layer: "mqtt",
    summary: "The broker refused the client identifier: return code 2 (3.1.1) or 0x85 (5.0).",
    hint: "the broker refused clientId: use 1-23 letters and digits, unique per device; an empty id needs a clean session and a broker that allows it",
    causes: [
      {
        cause: "An empty `clientId` with a persistent session, or a broker with `allow_zero_length_clientid false`.",
        fix: "Set a `clientId`, unique per device.",
      },
      {
        cause: "The id is too long or has characters the broker refuses (only 1-23 letters and digits are guaranteed).",
        fix: "Use a short alphanumeric `clientId`.",
      },
      {
        cause: "A cloud broker requires a registered id (e.g. the device or thing name).",
        fix: "Register the device and use the id the broker expects.",
      },
    ],
    example: { broker: BROKER, reason: 2, clientId: "" },
  },
  {
    code: "server_unavailable",
    layer: "mqtt",
    summary:
      "The broker answered but refused service: return code 3 (3.1.1), or 0x88 Server unavailable, 0x89 Server busy, 0x80 Unspecified or 0x83 Implementation specific error (5.0).",
    hint: "the broker is up but refuses service right now: check its log and load; the device retries with backoff",
    causes: [
      {
        cause: "The broker is starting, shutting down or in maintenance.",
        fix: "Wait; if it lasts, check the broker's log. A second broker in `broker` (comma-separated) gives failover.",
      },
      {
        cause: "An authentication or bridge backend behind the broker is down (plugins often answer 0x80/0x83).",
        fix: "Check the broker's plugins and their backends.",
      },
      { cause: "The broker is overloaded (0x89).", fix: "Check its load; raise `backoffBase` to spread reconnects." },
    ],
    example: { broker: BROKER, reason: 3 },
  },
  {
    code: "protocol_error",
    layer: "mqtt",
    summary:
      "A malformed packet or protocol violation: the device could not decode what the broker sent, or the broker said so of the device's (DISCONNECT 0x81/0x82).",
    hint: "MQTT bytes did not make sense: check nothing but an MQTT broker answers on that port (proxy, captive portal, HTTP); report with the broker's name and version",
    causes: [
      {
        cause: "Something other than an MQTT broker answers on the port (an HTTP server, a captive portal).",
        fix: "Check the host and port in `broker`.",
      },
      {
        cause: "A broker bug or incompatibility with this MQTT version.",
        fix: "Try `mqttVersion=3.1.1`; report the serial log with the broker's name and version.",
      },
      { cause: "A firmware bug.", fix: "Report the serial log (`log trace` shows the packets)." },
    ],
    example: { broker: BROKER, detail: "bad remaining length" },
  },
  {
    code: "packet_too_large",
    layer: "mqtt",
    summary:
      "A packet exceeded a size limit: reason 0x95 from the broker, or a packet larger than the device can receive.",
    hint: "a message is larger than the broker or the device allows: shorten the payload, or raise the limit (mosquitto message_size_limit / max_packet_size)",
    causes: [
      {
        cause: "The device published more than the broker's maximum packet size.",
        fix: "Publish smaller payloads, or raise `max_packet_size` on the broker.",
      },
      {
        cause: "The broker delivers a message (often a retained one) larger than the device's receive buffer.",
        fix: "Find the large retained message on the subscribed topics and clear or shrink it.",
      },
    ],
    example: { broker: BROKER, reason: "0x95", size: 300000 },
  },
  {
    code: "broker_closed",
    layer: "mqtt",
    summary: "The broker closed the connection without a DISCONNECT saying why.",
    hint: "the broker hung up without saying why: check its log at that time (restart, max_connections, another client with the same clientId, a rejected packet)",
    causes: [
      {
        cause: "The broker was stopped or restarted (mosquitto sends no DISCONNECT when it stops).",
        fix: "Check the broker's uptime and log; the device reconnects by itself.",
      },
      {
        cause: "Another client connected with the same client id (mosquitto closes the old connection silently).",
        fix: "If it repeats see session_taken_over: make `clientId` unique.",
      },
      {
        cause:
          "Closed right after CONNECT with no CONNACK: the listener's `max_connections` is reached, or `mqtt://` was used on a TLS port.",
        fix: "Check the broker's connection count and that the scheme matches the port.",
      },
      {
        cause:
          "MQTT 3.1.1 has no way to say why: the broker closes on a packet it refuses (a malformed topic, a packet over its size limit).",
        fix: "Look for the reason in the broker's log; set `mqttVersion=5` to get reason codes.",
      },
    ],
    example: { broker: BROKER, uptime: 45210 },
  },
  {
    code: "server_disconnect",
    layer: "mqtt",
    summary:
      "The broker sent DISCONNECT (MQTT 5.0) with a reason no more specific code covers, e.g. 0x8B Server shutting down, 0x89 Server busy, 0x93 Receive maximum exceeded, 0x98 Administrative action.",
    hint: "the broker ended the session and said why: read reason and reasonString; 0x8B is a broker shutdown, 0x98 an administrator's action",
    causes: [
      { cause: "0x8B: the broker is shutting down.", fix: "Nothing to do on the device; it reconnects." },
      { cause: "0x98: an administrator disconnected the client.", fix: "Ask the broker's administrator why." },
      {
        cause: "0x93/0x94/0x9A and others: the broker says the device broke a rule.",
        fix: "Report the serial log with the reason and reasonString.",
      },
    ],
    example: { broker: BROKER, reason: "0x8B", reasonString: "shutting down" },
  },
  {
    code: "server_moved",
    layer: "mqtt",
    summary:
      "The broker redirects the device: reason 0x9C Use another server or 0x9D Server moved (5.0), usually with a server reference.",
    hint: "the broker sends this device elsewhere (0x9C use another server, 0x9D moved): put the server in ref into the broker setting",
    causes: [
      {
        cause: "A cluster or migration moves clients to another broker.",
        fix: "Set `broker` to the new server (or add it to the comma-separated list).",
      },
    ],
    example: { broker: BROKER, reason: "0x9D", ref: "broker2.example.com:1883" },
  },
  {
    code: "quota_exceeded",
    layer: "mqtt",
    summary: "The broker limits this client: reason 0x97 Quota exceeded or 0x9F Connection rate exceeded (5.0).",
    hint: "the broker rate-limits this client (0x97 quota, 0x9F reconnecting too often): publish less often, raise backoffBase, check the broker's limits",
    causes: [
      { cause: "0x97: too many messages or bytes for the account's quota.", fix: "Lower the publish rate." },
      {
        cause: "0x9F: the device reconnects too often.",
        fix: "Raise `backoffBase`/`backoffCap`, and find why connections end (see `history`).",
      },
    ],
    example: { broker: BROKER, reason: "0x9F" },
  },
  {
    code: "bad_credentials",
    layer: "auth",
    summary:
      "The broker refused the user name or password: return code 4 / 0x86 / 0x8C, or 5 / 0x87 when a user name was sent (mosquitto answers 5 / 0x87 for a wrong password or an unknown user, never 4 / 0x86).",
    hint: "check mqttUser/mqttPassword; mosquitto answers 5 (3.1.1) / 0x87 (5.0) for a wrong password or unknown user",
    causes: [
      {
        cause: "Wrong `mqttPassword`, or stray spaces or line endings in it.",
        fix: "Set it again; test with `mosquitto_sub -u <user> -P <password> -t test -d`.",
      },
      {
        cause: "The user is not in the broker's password file, or was added without reloading the broker.",
        fix: "`mosquitto_passwd -b <file> <user> <password>`, then reload mosquitto (SIGHUP) or restart it.",
      },
      {
        cause: "The user exists but may not connect (an auth plugin's rule, a disabled account).",
        fix: "Check the user's roles in the broker's plugin or admin console.",
      },
      {
        cause: "0x8C: the broker wants another authentication method.",
        fix: "Check which authentication the broker requires.",
      },
    ],
    example: { broker: BROKER, reason: 5, user: "sensor-12" },
  },
  {
    code: "not_authorized",
    layer: "auth",
    summary:
      "The broker refused this client: return code 5 / 0x87 with no user name sent (anonymous clients not allowed), 0x8A Banned, or DISCONNECT 0x87.",
    hint: "the broker refuses this client: mosquitto 2.x refuses anonymous clients by default (allow_anonymous false): set mqttUser/mqttPassword",
    causes: [
      {
        cause: "No `mqttUser` set and the broker does not allow anonymous clients (mosquitto 2.x default).",
        fix: "Set `mqttUser` and `mqttPassword`, or `allow_anonymous true` on a test broker.",
      },
      { cause: "0x8A: the client is banned.", fix: "Ask the broker's administrator." },
    ],
    example: { broker: BROKER, reason: 5 },
  },
  {
    code: "subscribe_denied",
    layer: "auth",
    summary:
      "SUBACK refused a subscription: 0x80 (3.1.1) or a reason >= 0x80 (5.0): 0x87 Not authorized, 0x8F Topic filter invalid, 0x9E Shared subscriptions or 0xA2 Wildcards not supported.",
    hint: "the broker refused the subscription: check the user's ACL for that topic; note mosquitto's acl_file denies silently (SUBACK granted, nothing arrives)",
    causes: [
      {
        cause: "The user's ACL or role denies the topic (mosquitto's dynamic security plugin answers 0x80 / 0x87).",
        fix: "Allow the filter for the user; with `acl_file`, add a `topic read <filter>` line.",
      },
      {
        cause: "The topic filter is invalid, or uses wildcards or shared subscriptions the broker does not support.",
        fix: "Check the filter (e.g. `#` only at the end).",
      },
      {
        cause: "Messages never arrive though the SUBACK granted it: mosquitto's `acl_file` denial is silent.",
        fix: "Check the ACL; this case cannot be seen from the device.",
      },
    ],
    example: { topic: "tether/dev12/cmd/#", reason: "0x87" },
  },
  {
    code: "publish_denied",
    layer: "auth",
    summary:
      "The broker refused a QoS 1/2 message: PUBACK/PUBREC reason >= 0x80 (5.0), e.g. 0x87 Not authorized, 0x90 Topic name invalid, 0x97 Quota exceeded, 0x99 Payload format invalid.",
    hint: "the broker refused a message: check the user's publish ACL for the topic; with MQTT 3.1.1 denials are silent (the message is dropped)",
    causes: [
      {
        cause: "The user's ACL denies publishing to the topic.",
        fix: "Allow it for the user (`topic write <topic>` in an acl_file, or a publishClientSend role).",
      },
      {
        cause: "The topic name is invalid for the broker, or a quota is exhausted (0x97).",
        fix: "Check `topicPrefix` and the publish rate.",
      },
      {
        cause: "With MQTT 3.1.1 or QoS 0 the broker drops denied messages without a word.",
        fix: "Set `mqttVersion=5` and publish with QoS 1 to see denials.",
      },
    ],
    example: { topic: "tether/dev12/status", reason: "0x87" },
  },
  {
    code: "session_taken_over",
    layer: "session",
    summary:
      "Another client connected with the same client id: DISCONNECT 0x8E (5.0), or the broker closing new connections soon after they start, again and again (mosquitto sends no 0x8E).",
    hint: "another device or program uses the same clientId: make clientId unique per device; the broker's log says 'already connected, closing old connection'",
    causes: [
      {
        cause: "Two devices configured with the same `clientId` (a copied configuration).",
        fix: "Give each device its own `clientId`.",
      },
      {
        cause: "A test tool (mosquitto_sub -i, MQTT Explorer) or a simulator uses the device's id.",
        fix: "Use a different id in the tool.",
      },
      {
        cause: "Once after a reconnect: the broker still had the device's previous, half-open connection.",
        fix: "Nothing to do if it does not repeat.",
      },
    ],
    example: { broker: BROKER, clientId: "dev12", closes: 5 },
  },
  {
    code: "flapping",
    layer: "session",
    summary: "Connections keep ending shortly after they start, repeatedly.",
    hint: "connections keep dying within seconds: run history to see how each ended; often a duplicate clientId, a refused publish, or an unstable link",
    causes: [
      {
        cause: "Another client with the same client id.",
        fix: "See session_taken_over: make `clientId` unique.",
      },
      {
        cause:
          "The broker disconnects the device for something it does right after connecting (a denied publish or subscribe on some brokers).",
        fix: "Check the broker's log; set `mqttVersion=5` to get reason codes.",
      },
      { cause: "An unstable Wi-Fi link.", fix: "Check the signal strength and the access point." },
    ],
    example: { broker: BROKER, lived: 1200, times: 5 },
  },
  {
    code: "keepalive_timeout",
    layer: "keepalive",
    summary:
      "No PINGRESP within the keep-alive time: the link is half-open, traffic silently lost. Also reason 0x8D Keep alive timeout from a 5.0 broker that stopped hearing the device.",
    hint: "the broker stopped answering pings: the path drops traffic silently (Wi-Fi, NAT/firewall, overloaded broker); if it happens after the same idle time, lower keepAlive",
    causes: [
      {
        cause: "The Wi-Fi went away without the device noticing (access point rebooted, roaming).",
        fix: "Check the access point; the device reconnects.",
      },
      {
        cause: "A NAT or firewall forgot the idle connection.",
        fix: "See nat_idle_timeout_suspected: lower `keepAlive`.",
      },
      { cause: "The broker is overloaded or hung.", fix: "Check the broker's load and log." },
    ],
    example: { broker: BROKER, keepAlive: 60, waited: 30000 },
  },
  {
    code: "nat_idle_timeout_suspected",
    layer: "keepalive",
    summary:
      "Connections die after about the same idle time: a NAT, firewall or mobile carrier drops idle TCP connections sooner than the keep-alive.",
    hint: "connections die after the same idle time: a NAT/firewall forgets idle connections; set keepAlive below that time (e.g. 60 s or less)",
    causes: [
      {
        cause: "A router, firewall or carrier-grade NAT with a short idle timeout.",
        fix: "Lower `keepAlive` below the idle time shown, or raise the NAT's TCP idle timeout.",
      },
    ],
    example: { broker: BROKER, idle: 300000, keepAlive: 600 },
  },
  {
    code: "low_memory",
    layer: "resource",
    summary: "The JavaScript heap is nearly full.",
    hint: "memory is nearly exhausted: reduce the offline queue and message sizes, subscribe to fewer topics; TLS needs tens of KB free",
    causes: [
      {
        cause: "The offline queue grew while the broker was unreachable.",
        fix: "Lower the queue's size; fix the connection problem first.",
      },
      {
        cause: "Large messages, retained ones on wide subscriptions in particular.",
        fix: "Narrow the subscriptions; shrink the messages.",
      },
      {
        cause: "A leak: the heap's peak grows with every reconnect.",
        fix: "Report `stats` output taken some hours apart.",
      },
    ],
    example: { used: 118000, total: 128000 },
  },
];

/** The table entry for `code`. */
export function failureInfo(code: Code): FailureInfo {
  return FAILURES.find((entry) => entry.code === code)!;
}

/**
 * The level of a code's failure line `<uptime> <E|W> diag <code> <details> hint=...`: an error for what only a
 * person can fix (credentials, certificates), a warning for what may pass by itself on a retry.
 */
export function failureLevel(info: FailureInfo): Level {
  return info.layer === "auth" || info.layer === "tls" ? ERROR : WARN;
}

/** The code for a socket failure. `unreachable` is the link's fault; an orderly close is the broker's. */
export function classifyNetError(error: NetError): Code {
  switch (error.code) {
    case "dns":
      return "dns_failed";
    case "refused":
      return "tcp_refused";
    case "timeout":
      return "tcp_timeout";
    case "reset":
      return "tcp_reset";
    case "tls":
      return "tls_failed";
    case "unreachable":
      return "link_down";
    case "closed":
      return "broker_closed";
  }
}

/**
 * The code for a refusing CONNACK (`reasonCode` != 0). `sentUser` tells whether the CONNECT carried a user name:
 * mosquitto answers "not authorized" both to a wrong password and to an anonymous client it does not allow.
 */
export function classifyConnack(version: ProtocolVersion, reasonCode: number, sentUser: boolean): Code {
  if (version === 4) {
    const codes: Code[] = ["protocol_rejected", "client_id_rejected", "server_unavailable", "bad_credentials"];
    return reasonCode === 5
      ? sentUser
        ? "bad_credentials"
        : "not_authorized"
      : (codes[reasonCode - 1] ?? "server_unavailable");
  }
  switch (reasonCode) {
    case 0x81:
    case 0x82:
    case 0x84:
    case 0x90:
    case 0x99:
    case 0x9a:
    case 0x9b:
      return "protocol_rejected";
    case 0x85:
      return "client_id_rejected";
    case 0x86:
    case 0x8c:
      return "bad_credentials";
    case 0x87:
      return sentUser ? "bad_credentials" : "not_authorized";
    case 0x8a:
      return "not_authorized";
    case 0x95:
      return "packet_too_large";
    case 0x97:
    case 0x9f:
      return "quota_exceeded";
    case 0x9c:
    case 0x9d:
      return "server_moved";
    default:
      return "server_unavailable";
  }
}

/** The code for a DISCONNECT the broker sent (MQTT 5.0). */
export function classifyDisconnect(reasonCode: number): Code {
  switch (reasonCode) {
    case 0x81:
    case 0x82:
      return "protocol_error";
    case 0x87:
      return "not_authorized";
    case 0x8d:
      return "keepalive_timeout";
    case 0x8e:
      return "session_taken_over";
    case 0x95:
      return "packet_too_large";
    case 0x97:
    case 0x9f:
      return "quota_exceeded";
    case 0x9c:
    case 0x9d:
      return "server_moved";
    default:
      return "server_disconnect";
  }
}
