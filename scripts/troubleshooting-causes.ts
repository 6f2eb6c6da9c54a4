// The prose of docs/troubleshooting.md: for each failure code, what it means, its likely causes with their fixes
// and an example of the facts its serial line carries. Desktop only: the firmware keeps just the code, layer and
// hint (modules/diag/failures.ts), so none of this text costs the device bytecode. scripts/troubleshooting.ts joins
// the two; test/diag/troubleshooting.test.ts checks that every code has its prose here.
//
// The causes follow what brokers really answer (checked against mosquitto 2.0): a wrong password or unknown user
// is refused with 5 / 0x87, never 4 / 0x86; denials by an acl_file are silent; a client-id takeover and a broker
// shutdown close the socket with no DISCONNECT.

import type { Code } from "tether/diag/codes";

export interface Cause {
  cause: string;
  fix: string;
}

export interface Prose {
  /** What happened, in one sentence. */
  summary: string;
  /** For a code found from a pattern across connections: the facts it rests on, and how it is told from the others. */
  evidence?: string;
  /** Likely causes with their fixes, most likely first. */
  causes: readonly Cause[];
  /** Typical fact fields of the failure line (the firmware prints the real ones). */
  example: Readonly<Record<string, string | number>>;
}

// The fields a failure line carries, with the values the firmware prints (`broker` is host:port).
const BROKER = "10.0.0.5:1883";
const ADDRESS = "10.0.0.5";

export const PROSE: Readonly<Record<Code, Prose>> = {
  link_down: {
    summary: "The network link (Wi-Fi) is down or has no route to the broker's address.",
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
    example: { link: "down", state: "lost", broker: BROKER },
  },
  dns_failed: {
    summary: "The broker's host name did not resolve to an address.",
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
    example: { broker: "broker.example.com:1883", error: "dns", detail: "ENOTFOUND" },
  },
  tcp_refused: {
    summary: "The broker's host answered, but nothing accepts connections on that port (TCP RST).",
    causes: [
      {
        cause: "The broker is not running.",
        fix: "Start it and read its log (`systemctl status mosquitto`, `journalctl -u mosquitto`).",
      },
      {
        cause: "Wrong port in `broker`.",
        fix: "Use the broker's listener port: 1883 for mqtt://, 8883 for mqtts://.",
      },
      {
        cause: "mosquitto 2.x without a `listener` line only listens on localhost.",
        fix: "Add `listener 1883` (and authentication: `password_file` or `allow_anonymous true`) to mosquitto.conf.",
      },
      {
        cause: "A firewall rejects the port.",
        fix: "Open the port on the broker host's firewall.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, error: "refused", detail: "ECONNREFUSED" },
  },
  tcp_timeout: {
    summary: "No answer at all to the connection request within the timeout.",
    causes: [
      {
        cause: "Wrong IP address, or the broker's machine is off.",
        fix: "Check `broker`; ping the address from a computer on the device's network.",
      },
      {
        cause: "A firewall silently drops the port.",
        fix: "Allow the port (1883/8883) from the device's network.",
      },
      {
        cause: "Client isolation on a guest Wi-Fi, or no route/VPN to the broker's network.",
        fix: "Put the device on a network that can reach the broker.",
      },
      {
        cause: "The broker is overloaded and its listen queue is full.",
        fix: "Check the broker host's load and connection count.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, error: "timeout", detail: "connect timeout" },
  },
  tcp_reset: {
    summary: "An established connection was reset by the broker or something on the way.",
    causes: [
      {
        cause: "The broker crashed or restarted.",
        fix: "Read the broker's log around that time.",
      },
      {
        cause: "A firewall or NAT dropped the connection's state and answers with a reset.",
        fix: "Lower `keepAlive` below the path's idle timeout.",
      },
      {
        cause: "A load balancer or proxy in front of the broker closed the connection.",
        fix: "Raise its idle timeout above `keepAlive`, or lower `keepAlive`.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, error: "reset", detail: "ECONNRESET", uptime: 312000, idle: 1200 },
  },
  tls_failed: {
    summary:
      "The TLS handshake failed; `detail` says why where the platform knows: unknown_ca, expired (not_yet_valid), name_mismatch, missing_intermediate, leaf_only, ca_expired or handshake. On Moddable, where the TLS stack throws the same error for most of them, the device reads the cause from the server's certificates in the handshake.",
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
          "`missing_intermediate` (Moddable): the broker's certificate is signed by an intermediate CA that the broker does not send (it sends its certificate alone, or with the root but not the intermediate). The device has the root, not the intermediates: a common misconfiguration (a `certfile` holding the server certificate only).",
        fix: "Put the chain in the broker's certificate file: the server certificate, then the intermediate(s). With mosquitto, `certfile` holds them concatenated in that order; a `fullchain.pem` from Let's Encrypt already is.",
      },
      {
        cause:
          "`leaf_only` (Moddable): the broker sends its own certificate without the CA or intermediate that signed it; Moddable's TLS checks a certificate's names and dates only as part of a chain, and refuses a lone leaf even when it is valid.",
        fix: "Make the broker send its chain: with mosquitto, a `certfile` holding the server certificate followed by the intermediate/CA certificates.",
      },
      {
        cause:
          "`ca_expired` (Moddable): the CA certificate the device trusts is out of its dates for the device's clock, so the TLS socket refuses it before dialling; usually the clock is not set yet.",
        fix: "Check that the device got the time (SNTP) before connecting; renew the bundled CA if it really expired.",
      },
      {
        cause:
          "`handshake`: the broker requires a client certificate, no common TLS version/cipher (the ESP32 speaks TLS 1.2), or `mqtts://` to a plain MQTT port.",
        fix: "Use `mqtt://` for port 1883 and `mqtts://` for 8883; check `require_certificate` and `tls_version` on the broker.",
      },
      {
        cause: "Not enough free memory for the handshake (it needs tens of KB).",
        fix: "See low_memory: shrink the queue of messages waiting to be sent and message sizes.",
      },
    ],
    example: { broker: "broker.example.com:8883", address: ADDRESS, error: "tls", detail: "unknown_ca" },
  },
  websocket_failed: {
    summary:
      "MQTT over WebSocket (`ws://`, `wss://`): the socket opened but the HTTP upgrade to a WebSocket for MQTT failed; `detail` says how.",
    causes: [
      {
        cause:
          "`no_response`: the server closed the connection without an HTTP answer: the port is a plain MQTT listener, not a WebSocket one, or the server refused the request (mosquitto closes without a word when the client does not offer the subprotocol `mqtt`).",
        fix: "Use the broker's WebSocket listener (mosquitto: a `listener` with `protocol websockets`; often 8080, 9001 or 443 behind a proxy) with `ws://`/`wss://`, and its MQTT listener with `mqtt://`.",
      },
      {
        cause:
          "`http_<status>`: an HTTP server answered but did not switch protocols: `http_404` a wrong path, `http_400`/`http_426` a request it does not take, `http_502`/`http_503` a proxy without its broker.",
        fix: "Put the broker's WebSocket path in the URL (`ws://host:port/mqtt` is the default; some brokers use `/ws` or `/`); check the reverse proxy's route.",
      },
      {
        cause:
          "`bad_accept`, `bad_upgrade`: the answer was not a proper WebSocket upgrade for this request: another kind of server, or a proxy that rewrites the handshake.",
        fix: "Point the URL at the broker itself, or fix the proxy so it passes WebSocket upgrades through.",
      },
      {
        cause:
          "`no_subprotocol`, `subprotocol`: the server switched protocols without agreeing to `mqtt` (a WebSocket server for something else), `extension`: it imposed an extension the device did not offer.",
        fix: "Use the broker's MQTT WebSocket endpoint; brokers answer `Sec-WebSocket-Protocol: mqtt`.",
      },
      {
        cause: "`response_timeout`: the connection opened but nothing answered the upgrade in `connackTimeout` ms.",
        fix: "Check the port belongs to the broker, and the broker's (or proxy's) load.",
      },
    ],
    example: { broker: "10.0.0.5:8080", address: ADDRESS, error: "ws", detail: "http_404" },
  },
  connack_timeout: {
    summary: "The TCP (or TLS) connection opened and CONNECT was sent, but no CONNACK came back in time.",
    causes: [
      {
        cause:
          "The port is not plain MQTT: a WebSockets listener (often 8080/9001), an HTTP server, a TLS port used with `mqtt://`.",
        fix: "Use the broker's MQTT listener: 1883 with `mqtt://`, 8883 with `mqtts://`; a WebSocket listener with `ws://host:port/path` (`wss://` over TLS).",
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
    example: { broker: BROKER, address: ADDRESS, waited: 10000 },
  },
  protocol_rejected: {
    summary:
      "The broker refused the CONNECT's protocol: return code 1 (3.1.1) or 0x84 Unsupported Protocol Version (5.0), or 0x81/0x82/0x90/0x99 refusing what the CONNECT asked.",
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
        cause: "A 5.0 broker refuses the will message: topic invalid (0x90).",
        fix: "Check the will's topic under `topicPrefix`.",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      reason: "0x01 Connection Refused, unacceptable protocol version",
      user: "set",
    },
  },
  client_id_rejected: {
    summary: "The broker refused the client identifier: return code 2 (3.1.1) or 0x85 (5.0).",
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
    example: { broker: BROKER, address: ADDRESS, reason: "0x02 Connection Refused, identifier rejected", user: "set" },
  },
  server_unavailable: {
    summary:
      "The broker answered but refused service: return code 3 (3.1.1), or 0x88 Server unavailable, 0x89 Server busy, 0x80 Unspecified or 0x83 Implementation specific error (5.0).",
    causes: [
      {
        cause: "The broker is starting, shutting down or in maintenance.",
        fix: "Wait; if it lasts, check the broker's log. A second broker in `broker` (comma-separated) gives failover.",
      },
      {
        cause: "An authentication or bridge backend behind the broker is down (plugins often answer 0x80/0x83).",
        fix: "Check the broker's plugins and their backends.",
      },
      {
        cause: "The broker is overloaded (0x89).",
        fix: "Check its load; raise `backoffBase` to spread reconnects.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, reason: "0x03 Connection Refused, Server unavailable", user: "set" },
  },
  protocol_error: {
    summary:
      "A malformed packet or protocol violation: the device could not decode what the broker sent, or the broker said so of the device's (DISCONNECT 0x81/0x82).",
    causes: [
      {
        cause: "Something other than an MQTT broker answers on the port (an HTTP server, a captive portal).",
        fix: "Check the host and port in `broker`.",
      },
      {
        cause: "A broker bug or incompatibility with this MQTT version.",
        fix: "Try `mqttVersion=3.1.1`; report the serial log with the broker's name and version.",
      },
      {
        cause:
          "`error=auth_failed` (MQTT 5 enhanced authentication, the drop-in's `auth`): the method refused the broker's challenge, or the broker's last step did not prove it (a SCRAM server signature that does not match: the wrong broker, or a man in the middle).",
        fix: "Check the method's credentials and that the broker is the one expected; the detail names the method.",
      },
      {
        cause: "A firmware bug.",
        fix: "Report the serial log (`log trace` shows the packets).",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      error: "bad_packet_type",
      detail: "packet type 0",
      uptime: 5200,
      idle: 40,
    },
  },
  packet_too_large: {
    summary:
      "A packet exceeded a size limit: reason 0x95 from the broker, or a packet larger than the device can receive.",
    causes: [
      {
        cause:
          "A message (often a retained one) larger than `maxPacketSize` came on a topic the device subscribes to (on the command topic it is the sender's: `W app command_refused reason=too_large`). In MQTT 3.1.1, which cannot tell the broker the limit, the device skips it as it arrives and acknowledges it so that it is not sent again (`action=skipped`, its topic and size); the connection stays up. In MQTT 5 the broker broke the limit the device announced: the device closes with 0x95, and its next connection starts a clean session so that the broker forgets the message.",
        fix: "Find the message by its topic; shrink or clear it, or raise `maxPacketSize` if the device has the memory.",
      },
      {
        cause:
          "The device published more than the broker's maximum packet size (a 3.1.1 broker cannot announce it; an MQTT 5 broker's is checked before sending, and such a publish is refused with a warning).",
        fix: "Publish smaller payloads, or raise `max_packet_size` / `message_size_limit` on the broker.",
      },
    ],
    example: {
      topic: "plant/config",
      qos: 1,
      size: 1048596,
      max: 16384,
      action: "skipped",
    },
  },
  broker_closed: {
    summary: "The broker closed the connection without a DISCONNECT saying why.",
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
          "MQTT 3.1.1 and a broker that keeps no retained messages (mosquitto `retain_available false`) or takes a lower QoS than the will's (`max_qos`): it closes the CONNECT, with no CONNACK. After two such closes the device tries the will unretained, then at QoS 0, then both, and says which the broker took (`checking, 5 rounds`). A network that closes attempts looks the same, so that is no proof yet: the probe's connection ends at once, unused (`I mqtt closed reason=\"probe: ...\"`, an accepted attempt in `stats`), and the will as configured is tried again. If that is taken, nothing is learnt; if it is closed and the probe taken again, five rounds in a row, the device keeps the finding and says so (`5 times in a row`): without retain it refuses retained publishes and publishes its status unretained; at a lower QoS its messages leave downgraded (as MQTT 5's Maximum QoS has them).",
        fix: "Nothing to do for the connection; enable retain or QoS 1 on the broker to keep the offline beacon as it was, or use MQTT 5, whose CONNACK says so.",
      },
      {
        cause:
          "MQTT 3.1.1 has no way to say why: the broker closes on a packet it refuses (a malformed topic, a packet over its size limit).",
        fix: "Look for the reason in the broker's log; set `mqttVersion=5` to get reason codes.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, error: "closed", uptime: 45210, idle: 3200 },
  },
  feature_unsupported: {
    summary:
      "The broker refused something it does not support (MQTT 5.0): 0x9A Retain not supported, 0x9B QoS not supported, 0x9E Shared Subscriptions, 0xA1 Subscription Identifiers or 0xA2 Wildcard Subscriptions not supported, in a CONNACK or a DISCONNECT.",
    causes: [
      {
        cause:
          "The will is retained (the device's offline beacon) or above the broker's maximum QoS: CONNACK 0x9A or 0x9B. The device sends the will without retain (or at QoS 0) from the next attempt on, and says so in one warning.",
        fix: "Nothing to do for the connection; to keep a retained offline beacon, enable retain on the broker (mosquitto `retain_available true`, `max_qos`).",
      },
      {
        cause:
          "A message or subscription made before the broker said what it lacks. Once it has (its CONNACK's Retain Available, Wildcard, Shared and Subscription Identifier Available), the device refuses such publishes and subscriptions when made (`publish to ... refused`, `subscribe to ... refused`), gives up kept ones with a warning, and publishes its status beacon unretained.",
        fix: "Publish without retain and subscribe without wildcards or `$share/` to such a broker, or enable the feature on it.",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      reason: "0x9a Retain not supported",
      user: "none",
    },
  },
  server_disconnect: {
    summary:
      "The broker sent DISCONNECT (MQTT 5.0) with a reason no more specific code covers, e.g. 0x8B Server shutting down, 0x89 Server busy, 0x93 Receive maximum exceeded, 0x98 Administrative action.",
    causes: [
      {
        cause: "0x8B: the broker is shutting down.",
        fix: "Nothing to do on the device; it reconnects.",
      },
      {
        cause: "0x98: an administrator disconnected the client.",
        fix: "Ask the broker's administrator why.",
      },
      {
        cause: "0x93/0x94 and others: the broker says the device broke a rule.",
        fix: "Report the serial log with the reason and reasonString.",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      reason: "0x8b Server shutting down",
      reason_string: "shutting down for maintenance",
      uptime: 86400000,
    },
  },
  server_moved: {
    summary:
      "The broker redirects the device: reason 0x9C Use another server or 0x9D Server moved (5.0), usually with a server reference.",
    causes: [
      {
        cause: "A cluster or migration moves clients to another broker.",
        fix: "Set `broker` to the new server (or add it to the comma-separated list).",
      },
      {
        cause:
          "The device follows a reference once, in any form brokers send (`host`, `host:port`, `[ipv6]:port`, `tcp://`, `mqtt://`, `mqtts://`, `ssl://` URLs, a space-separated list: the first usable entry); a reference it cannot follow (a WebSocket URL, a plain-text URL from a TLS broker) is named in the `mqtt retry` line (`not followed`).",
        fix: "Put a reachable broker into `broker`; a redirect never takes the device off TLS.",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      reason: "0x9d Server moved",
      server_reference: "broker2.example.com:1883",
      uptime: 5000,
    },
  },
  quota_exceeded: {
    summary: "The broker limits this client: reason 0x97 Quota exceeded or 0x9F Connection rate exceeded (5.0).",
    causes: [
      {
        cause: "0x97: too many messages or bytes for the account's quota.",
        fix: "Lower the publish rate.",
      },
      {
        cause: "0x9F: the device reconnects too often.",
        fix: "Raise `backoffBase`/`backoffCap`, and find why connections end (see `history`).",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      reason: "0x97 Quota exceeded",
      reason_string: "100 messages per minute",
      uptime: 61000,
    },
  },
  bad_credentials: {
    summary:
      "The broker refused the user name or password: return code 4 / 0x86 / 0x8C, or 5 / 0x87 when a user name was sent (mosquitto answers 5 / 0x87 for a wrong password or an unknown user, never 4 / 0x86).",
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
    example: { broker: BROKER, address: ADDRESS, reason: "0x05 Connection Refused, not authorized", user: "set" },
  },
  not_authorized: {
    summary:
      "The broker refused this client: return code 5 / 0x87 with no user name sent (anonymous clients not allowed), 0x8A Banned, or DISCONNECT 0x87.",
    causes: [
      {
        cause: "No `mqttUser` set and the broker does not allow anonymous clients (mosquitto 2.x default).",
        fix: "Set `mqttUser` and `mqttPassword`, or `allow_anonymous true` on a test broker.",
      },
      {
        cause: "0x8A: the client is banned.",
        fix: "Ask the broker's administrator.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, reason: "0x05 Connection Refused, not authorized", user: "none" },
  },
  subscribe_denied: {
    summary:
      "SUBACK refused a subscription: 0x80 (3.1.1) or a reason >= 0x80 (5.0): 0x87 Not authorized, 0x8F Topic filter invalid, 0x9E Shared subscriptions or 0xA2 Wildcards not supported.",
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
    example: { filter: "plant/line1/#", reason: "0x80 Failure" },
  },
  publish_denied: {
    summary:
      "The broker refused a QoS 1/2 message: PUBACK/PUBREC reason >= 0x80 (5.0), e.g. 0x87 Not authorized, 0x90 Topic name invalid, 0x97 Quota exceeded, 0x99 Payload format invalid.",
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
    evidence:
      "A PUBACK or PUBREC with a reason code of 0x80 or more, named by the packet that carried it, with the broker's reason string. Not a PUBCOMP: its 0x92 Packet Identifier not found answers a PUBREL sent again after the broker had completed the flow, so the message was delivered (an `mqtt ack packet=PUBCOMP` line says so). Successes with a reason (PUBACK 0x10 No matching subscribers) are `mqtt ack` lines, not failures.",
    example: {
      topic: "plant/line1/temperature",
      qos: 1,
      reason: "0x87 Not authorized",
      reason_string: "ACL denies publish",
    },
  },
  session_taken_over: {
    summary:
      "Another client connected with the same client id: DISCONNECT 0x8E (5.0), or the broker closing new connections soon after they start, again and again (mosquitto sends no 0x8E).",
    evidence:
      'DISCONNECT 0x8E (5.0) on each close; or three connections in a row that the broker closed without a word (FIN or RST, no DISCONNECT) soon after their CONNACK, and either a CONNACK among them found our session gone though the device keeps its session (a twin that starts clean ends it: `evidence="session gone on reconnect"`), or their uptimes are clearly irregular, each more than 40% above the next shorter one (a twin with a persistent session resumes ours each time, and reconnects after randomised delays: `evidence="irregular uptimes ..."`). Connections that end at the same uptime are flapping instead, those that end at the same idle time a NAT idle timeout. A device whose event loop runs late (busy, or a simulator on a loaded computer) reads every time late: that noise can make regular uptimes look irregular, never the reverse. So uptimes count as irregular only when they are also further apart than twice the lateness the device saw (how late its backoff timers fired before those connections: `late_ms=` on the pattern\'s line when not 0), and each stands apart from every other, so that one close read late during a moment\'s stall (a flash erase) cannot make the pattern. Regular times (flapping, NAT idle) are read with the same allowance.',
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
    example: {
      broker: BROKER,
      address: ADDRESS,
      closes: 3,
      last_uptime: 1520,
      pattern: "closed by the broker soon after CONNACK, no DISCONNECT",
      evidence: "session gone on reconnect",
    },
  },
  flapping: {
    summary: "Connections keep ending shortly after they start, repeatedly.",
    evidence:
      'Four short connections in a row that end at the same uptime after CONNACK (within 20%; on a device whose loop runs late, six in a row within 20% plus twice that lateness, `late_ms=`: see session_taken_over), whatever the traffic and even with the session resumed each time: something on the path cuts them (`evidence="cut at the same uptime ..."`); or three in a row that end for reasons other than a silent close by the broker, such as protocol errors (`evidence="short connections"`). Cuts at the same time sooner than 1 s after the last packet count here, never as a NAT idle timeout. Once named, a streak keeps its name until a connection lasts (`backoffStable`).',
    causes: [
      {
        cause:
          "A firewall, proxy, load balancer or broker plugin that ends every connection a fixed time after it starts.",
        fix: "Check the devices on the path and the broker's log at the times of the cuts.",
      },
      {
        cause:
          "The broker disconnects the device for something it does right after connecting (a denied publish or subscribe on some brokers).",
        fix: "Check the broker's log; set `mqttVersion=5` to get reason codes.",
      },
      {
        cause: "An unstable Wi-Fi link.",
        fix: "Check the signal strength and the access point.",
      },
    ],
    example: {
      broker: BROKER,
      address: ADDRESS,
      short_connections: 4,
      last_uptime: 301,
      evidence: "cut at the same uptime 302/298/305/301 ms",
    },
  },
  reconnect_loop: {
    summary:
      "Connections keep ending the same way with nothing delivered in between: the device is in a reconnect loop, and backs off towards `backoffCap` until something is delivered again.",
    evidence:
      "Three connections in a row that reached CONNACK and ended with the same failure code (`cause=`), none of which made progress: none lasted `backoffStable`, delivered a message to the application, or completed more of the device's messages than it published as it connected (the status each connection sends, an application's onReady messages, do not count). Named at 3, then at 6, 12, 24... in a row (`count=`). Whatever the cause, the device never dials twice within `backoffBase`, and from here on its waits grow towards `backoffCap` instead of following the cause's policy; the first connection that makes progress ends the loop. `flapping` and `session_taken_over` may name the same connections by their pattern; this line says the device stopped hurrying.",
    causes: [
      {
        cause:
          "Something the device sends or is sent right after connecting makes the broker (or the device) end the connection: a message it refuses, a command that reconnects.",
        fix: "Read the `diag` lines before this one and `history`; a message the broker keeps closing on is quarantined (`message_quarantined`).",
      },
      {
        cause: "Another client with the same client id takes the session over at every reconnect.",
        fix: "Make `clientId` unique per device.",
      },
      {
        cause: "A proxy, load balancer or broker plugin that ends every connection soon after it starts.",
        fix: "Check the devices on the path and the broker's log at those times.",
      },
    ],
    example: { cause: "broker_closed", count: 3, broker: BROKER },
  },
  message_quarantined: {
    summary:
      "The broker closed the connection right after one of the device's stored QoS 1/2 messages, and again after it was resent: the message was taken out of the session (and of storage) rather than resent at every reconnect for ever.",
    evidence:
      "The device's oldest message in flight was (re)sent on a connection and the broker closed it (no DISCONNECT, a reset, or DISCONNECT in 5.0) before acknowledging anything sent after it, on two connections in a row (a reboot in between does not start the count again: the first close is stored with the message). The message is dropped (counted in `stats` as a drop, kept in `history`); the messages behind it go on.",
    causes: [
      {
        cause:
          "The message breaks a broker limit that MQTT 3.1.1 cannot announce: mosquitto's `max_packet_size` closes a 3.1.1 client whose packet is larger. When it was larger than every packet the broker read (and its QoS and retain flag were read before), the device learns the limit: a warning says `packets over N bytes are refused from now on`, and larger publishes are refused at once (`pub invalid`) rather than costing two closes each. Likewise a QoS above what the broker takes (`max_qos`): `messages leave at QoS 1 at most from now on`.",
        fix: "Shorten the message, or raise the broker's limit; with MQTT 5 the broker announces its Maximum Packet Size and the device refuses such a message at once.",
      },
      {
        cause:
          "A topic or payload the broker refuses by closing the connection (a character it rejects, a plugin's rule).",
        fix: "Check the broker's log at the time of the closes for why it dropped the client.",
      },
    ],
    example: { topic: "sensors/blob", qos: 1, bytes: 2048, reason: "broker_closed", closes: 2 },
  },
  message_dropped: {
    summary:
      "QoS 1/2 messages the API accepted (`pub queued`: offline, or waiting behind the in-flight window) were held in RAM only, and the reboot loses them. Said as the device goes (`when=shutdown`, with `count`), or at the next boot after a power cut (`when=power_cut`, `count=unknown`: counting them would cost a flash write each).",
    evidence:
      "While the broker keeps the session (3.1.1 `cleanSession` 0; 5.0 with a `sessionExpiry`), a waiting QoS 1/2 message is stored like a message in flight and sent after the reboot, before newer ones. This line counts those that could not be: `reason` says why (the last one's).",
    causes: [
      {
        cause:
          "`no_session`: the broker keeps no session (`cleanStart` 1, or 5.0 with `sessionExpiry` 0): nothing is stored, since the broker would not know the messages' flows after a reboot either.",
        fix: "Set `cleanStart 0` (and in 5.0 a `sessionExpiry`) if queued messages must outlive a reboot.",
      },
      {
        cause:
          "`no_slot`: more QoS 1/2 messages waited than the 16 stored waiting messages (besides the flights' slots).",
        fix: "Publish less while offline, or at QoS 0 what a newer reading replaces.",
      },
      {
        cause:
          "`too_large` (topic and payload over about 1 KB, NVS's value size) or `properties` (MQTT 5 properties are not stored).",
        fix: "Send large payloads in smaller messages.",
      },
      {
        cause: "`store_refused`: the flash budget (`flashBudget` writes an hour) was spent, or the storage is full.",
        fix: "Read `stats` (flash writes, refused); raise `flashBudget` if the device publishes that much while offline.",
      },
    ],
    example: { count: 3, reason: "no_slot", when: "shutdown" },
  },
  keepalive_timeout: {
    summary:
      "No PINGRESP within the keep-alive time: the link is half-open, traffic silently lost. Also reason 0x8D Keep alive timeout from a 5.0 broker that stopped hearing the device.",
    causes: [
      {
        cause: "The Wi-Fi went away without the device noticing (access point rebooted, roaming).",
        fix: "Check the access point; the device reconnects.",
      },
      {
        cause: "A NAT or firewall forgot the idle connection.",
        fix: "See nat_idle_timeout_suspected: lower `keepAlive`.",
      },
      {
        cause: "The broker is overloaded or hung.",
        fix: "Check the broker's load and log.",
      },
    ],
    example: { broker: BROKER, address: ADDRESS, waited: 10000, uptime: 312000, idle: 70000 },
  },
  nat_idle_timeout_suspected: {
    summary:
      "Connections die after about the same idle time: a NAT, firewall or mobile carrier drops idle TCP connections sooner than the keep-alive.",
    evidence:
      "Three connections that ended at idle times (since the last packet received) within 20% of each other (plus twice the lateness of the device's loop, `late_ms=`: see session_taken_over) and at least 1 s, whatever their uptime: reset at that idle time, or a ping unanswered after it. Such connections are never counted as flapping or a takeover. The device lowers its keep alive below that idle time by itself, down to keepAliveMin, and says so (`keepalive tuned`; `keepalive=` is the new value). When the idle times call for less than keepAliveMin the line says `below=keepAliveMin` (for resets sooner than keepAliveMin, with their uptimes `uptime_s`): only a person can act.",
    causes: [
      {
        cause: "A router, firewall or carrier-grade NAT with a short idle timeout.",
        fix: "Lower `keepAlive` below the idle time shown, or raise the NAT's TCP idle timeout.",
      },
      {
        cause: "`below=keepAliveMin`: the idle timeout is shorter than the lowest keep alive the device may set.",
        fix: "Lower `keepAliveMin` below the idle time shown, or have the application publish more often than that.",
      },
    ],
    example: { idle_s: "30/30/31", keepalive: 21, configured: 60 },
  },
  low_memory: {
    summary: "The JavaScript heap is nearly full.",
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
    example: { used: 148000, limit: 160000, peak: 151000 },
  },
};
