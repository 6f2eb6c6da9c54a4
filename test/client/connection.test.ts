// The MQTT 5 rules of one connection, driven with packets from mqtt-packet (an independent implementation) and a
// fake clock: Topic Alias Maximum both ways, the properties of CONNECT, acks' reason codes and reason strings, and
// a PUBCOMP 0x92 for a PUBREL sent again.

import { generate, parser, type Packet as WirePacket } from "mqtt-packet";
import { Connection, type ConnectionEvent, type ConnectionOptions } from "tether/client/connection";
import { PUBACK, PUBCOMP } from "tether/mqtt/packets";
import { Session } from "tether/mqtt/session";

const OPTIONS: ConnectionOptions = {
  version: 5,
  clientId: "c1",
  cleanStart: false,
  keepAlive: 60,
  sessionExpiry: 300,
  maxPacketSize: 4096,
  connackTimeout: 5000,
  receiveMaximum: 5,
  topicAliasMaximum: 3,
};

/** A connection (over `session`) whose output is parsed back into packets; `send` plays the broker. */
function harness(options: Partial<ConnectionOptions> = {}, session = new Session()) {
  const written: WirePacket[] = [];
  const sizes: number[] = [];
  const events: ConnectionEvent[] = [];
  let closed = false;
  const decoder = parser({ protocolVersion: 5 });
  decoder.on("packet", (packet: WirePacket) => written.push(packet));
  const conn = new Connection({ ...OPTIONS, ...options }, session, {
    write: (bytes) => {
      sizes.push(bytes.length);
      decoder.parse(Buffer.from(bytes));
    },
    close: () => {
      closed = true;
    },
    event: (event) => events.push(event),
  });
  conn.start(0);
  const send = (packet: WirePacket, now = 1) => conn.receive(generate(packet, { protocolVersion: 5 }), now);
  return {
    conn,
    session,
    written,
    sizes,
    events,
    send,
    get closed() {
      return closed;
    },
    /** CONNACK with these properties. */
    accept(properties: Record<string, unknown> = {}, sessionPresent = false) {
      send({ cmd: "connack", sessionPresent, reasonCode: 0, properties } as WirePacket);
    },
    publish(topic: string, qos: 0 | 1 | 2 = 0, properties?: Record<string, unknown>) {
      conn.publish({ topic, payload: new TextEncoder().encode("21.5"), qos, retain: false, properties }, 2);
    },
    /** A QoS 0 message as the supervisor sends one the session lets leave at once: no packet object. */
    publishNow(topic: string) {
      conn.publishNow(topic, new TextEncoder().encode("21.5"), false, undefined, 2);
    },
    of<T extends ConnectionEvent["type"]>(type: T) {
      return events.filter((e): e is Extract<ConnectionEvent, { type: T }> => e.type === type);
    },
  };
}

describe("CONNECT", () => {
  test("announces Receive Maximum, Topic Alias Maximum and Maximum Packet Size from the options", () => {
    const h = harness();
    expect(h.written[0]).toMatchObject({
      cmd: "connect",
      properties: { receiveMaximum: 5, topicAliasMaximum: 3, maximumPacketSize: 4096, sessionExpiryInterval: 300 },
    });
  });

  test("leaves out what has its default meaning (Receive Maximum 65535, no aliases)", () => {
    const h = harness({ receiveMaximum: 65535, topicAliasMaximum: 0 });
    const properties = (h.written[0] as { properties: Record<string, unknown> }).properties;
    expect(properties.receiveMaximum).toBeUndefined();
    expect(properties.topicAliasMaximum).toBeUndefined();
  });
});

describe("outgoing topic aliases", () => {
  test("a caller's alias above the broker's Topic Alias Maximum is left out, with a warning, not sent", () => {
    const h = harness();
    h.accept({ topicAliasMaximum: 10 });
    h.publish("t/a", 1, { topicAlias: 11 });
    h.publish("t/b", 1, { topicAlias: 10 });
    const publishes = h.written.filter((p) => p.cmd === "publish") as { topic: string; properties?: object }[];
    expect(publishes[0]).toMatchObject({ topic: "t/a" });
    expect(publishes[0]!.properties).toBeUndefined();
    expect(publishes[1]).toMatchObject({ topic: "t/b", properties: { topicAlias: 10 } });
    expect(h.of("warning").map((w) => w.message)).toEqual([
      "topic alias 11 above the broker's Topic Alias Maximum 10: sent without it",
    ]);
    expect(h.conn.connected).toBe(true);
  });

  test("a broker without Topic Alias Maximum gets no alias at all", () => {
    const h = harness({ topicAliases: true });
    h.accept();
    h.publish("t/a", 0, { topicAlias: 1 });
    h.publish("t/a", 0);
    const publishes = h.written.filter((p) => p.cmd === "publish") as { topic: string; properties?: object }[];
    expect(publishes.map((p) => [p.topic, p.properties])).toEqual([
      ["t/a", undefined],
      ["t/a", undefined],
    ]);
  });

  test.each(["publish", "publishNow"] as const)(
    "with topicAliases, later messages carry the alias instead of the topic: bytes saved per message (%s)",
    (how) => {
      const topic = "tether/tether-a1b2c3d4e5f6/sensors/temperature";
      const h = harness({ topicAliases: true });
      h.accept({ topicAliasMaximum: 2 });
      const start = h.sizes.length;
      const publish = (t: string) => h[how](t);
      publish(topic);
      publish(topic);
      publish("b");
      publish("c"); // no alias left: sent with its topic
      publish(topic);
      const publishes = h.written.filter((p) => p.cmd === "publish") as { topic: string; properties?: object }[];
      expect(publishes.map((p) => [p.topic, p.properties])).toEqual([
        [topic, { topicAlias: 1 }],
        ["", { topicAlias: 1 }],
        ["b", { topicAlias: 2 }],
        ["c", undefined],
        ["", { topicAlias: 1 }],
      ]);
      const [first, second] = h.sizes.slice(start);
      const plain = harness();
      plain.accept({ topicAliasMaximum: 2 });
      plain.publish(topic);
      const without = plain.sizes.at(-1)!;
      // The topic (2 + 46 bytes) becomes an empty one (2) plus the alias property (3): 55 bytes become 12, after a
      // first message of 58.
      expect([without, first, second]).toEqual([55, 58, 12]);
      expect(without - second!).toBe(topic.length - 3);
    },
  );

  test("an alias whose PUBLISH could not be sent is not used: the next message gives it with its topic", () => {
    const h = harness({ topicAliases: true });
    h.accept({ topicAliasMaximum: 2, maximumPacketSize: 64 });
    h.conn.publish({ topic: "t", payload: new Uint8Array(100), qos: 0, retain: false }, 2);
    expect(h.of("warning").map((w) => w.message)).toEqual(["packet of 109 bytes exceeds the broker's maximum of 64"]);
    h.publish("t");
    h.publish("t");
    const publishes = h.written.filter((p) => p.cmd === "publish") as { topic: string; properties?: object }[];
    expect(publishes.map((p) => [p.topic, p.properties])).toEqual([
      ["t", { topicAlias: 1 }],
      ["", { topicAlias: 1 }],
    ]);
  });

  test("aliases belong to one connection: the message in flight goes to the next broker with its topic", () => {
    const session = new Session();
    const first = harness({ topicAliases: true }, session);
    first.accept({ topicAliasMaximum: 5 });
    first.publish("t/q1", 1);
    first.publish("t/q1", 1);
    // The link, not the broker: a broker's close right after a message makes it a suspect (Session.quarantine).
    first.conn.socketFailed({ code: "unreachable" }, 3);
    const second = harness({ topicAliases: true }, session);
    second.accept({ topicAliasMaximum: 5 }, true);
    const resent = second.written.filter((p) => p.cmd === "publish") as { topic: string; dup: boolean }[];
    expect(resent.map((p) => [p.topic, p.dup])).toEqual([
      ["t/q1", true],
      ["", true],
    ]);
    expect((second.written[1] as { properties?: object }).properties).toEqual({ topicAlias: 1 });
  });
});

describe("incoming topic aliases", () => {
  const publish = (topic: string, topicAlias?: number) =>
    ({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 0, properties: { topicAlias } }) as WirePacket;

  test("within our Topic Alias Maximum: learned with the topic, then stand for it", () => {
    const h = harness();
    h.accept();
    h.send(publish("a/b", 3));
    h.send(publish("", 3));
    h.send(publish("c", 3));
    h.send(publish("", 3));
    expect(h.of("message").map((m) => m.publish.topic)).toEqual(["a/b", "a/b", "c", "c"]);
    expect(h.closed).toBe(false);
  });

  test.each([
    ["alias 4 of 3", 3, publish("a", 4), "above our Topic Alias Maximum 3"],
    ["alias 1 of none", 0, publish("a", 1), "above our Topic Alias Maximum 0"],
    ["alias never given a topic", 3, publish("", 2), "before giving its topic"],
  ])("%s: DISCONNECT 0x94 Topic Alias invalid", (_name, topicAliasMaximum, packet, problem) => {
    const h = harness({ topicAliasMaximum });
    h.accept();
    h.send(packet);
    expect(h.written.at(-1)).toMatchObject({ cmd: "disconnect", reasonCode: 0x94 });
    expect(h.closed).toBe(true);
    const [closed] = h.of("closed");
    expect(closed?.cause).toMatchObject({ kind: "protocol", code: "topic_alias" });
    expect(closed?.cause).toHaveProperty("message", expect.stringContaining(problem));
    expect(h.of("message")).toEqual([]);
  });
});

describe("acks", () => {
  test("reason code, reason string and the packet that answered come with the completion", () => {
    const h = harness();
    h.accept();
    h.publish("a", 1);
    h.send({
      cmd: "puback",
      messageId: 1,
      reasonCode: 0x10,
      properties: { reasonString: "nobody listens" },
    } as WirePacket);
    const [done] = h.of("completed");
    expect(done).toMatchObject({
      ack: PUBACK,
      reasonString: "nobody listens",
      completion: { reasonCode: 0x10, ok: true },
    });
  });

  test("a PUBREC that accepts says so with its reason; the PUBCOMP then completes the message", () => {
    const h = harness();
    h.accept();
    h.publish("q2", 2);
    h.send({ cmd: "pubrec", messageId: 1, reasonCode: 0x10, properties: { reasonString: "none" } } as WirePacket);
    expect(h.of("received")).toEqual([{ type: "received", packetId: 1, reasonCode: 0x10, reasonString: "none" }]);
    expect(h.of("completed")).toEqual([]);
    h.send({ cmd: "pubcomp", messageId: 1 } as WirePacket);
    expect(h.of("completed")).toMatchObject([{ ack: PUBCOMP, completion: { ok: true } }]);
  });

  test("a PUBCOMP 0x92 for a PUBREL sent again after a reconnect completes the message as delivered", () => {
    const session = new Session();
    const first = harness({}, session);
    first.accept();
    first.publish("q2", 2);
    first.send({ cmd: "pubrec", messageId: 1 } as WirePacket);
    expect(first.written.at(-1)).toMatchObject({ cmd: "pubrel", messageId: 1 });
    // The broker completed the flow; its PUBCOMP is lost with the connection.
    first.conn.socketFailed({ code: "reset" }, 3);
    const second = harness({}, session);
    second.accept({}, true);
    expect(second.written.at(-1)).toMatchObject({ cmd: "pubrel", messageId: 1 });
    second.send({
      cmd: "pubcomp",
      messageId: 1,
      reasonCode: 0x92,
      properties: { reasonString: "packet id not found" },
    } as WirePacket);
    const [done] = second.of("completed");
    expect(done).toMatchObject({
      ack: PUBCOMP,
      reasonString: "packet id not found",
      completion: { reasonCode: 0x92, ok: true, qos: 2 },
    });
    expect(session.inflight).toBe(0);
  });

  test("an ack for an unknown id is a warning that names its reason and reason string", () => {
    const h = harness();
    h.accept();
    h.send({ cmd: "puback", messageId: 7, reasonCode: 0x87, properties: { reasonString: "ACL" } } as WirePacket);
    expect(h.of("warning").map((w) => w.message)).toEqual([
      'PUBACK for unknown packet id 7 (0x87 Not authorized "ACL")',
    ]);
  });

  test("an UNSUBACK's reason string reaches the event", () => {
    const h = harness();
    h.accept();
    const id = h.conn.unsubscribe(["f"], 2);
    h.send({ cmd: "unsuback", messageId: id, granted: [0x11], properties: { reasonString: "had none" } } as WirePacket);
    expect(h.of("unsubscribed")).toEqual([
      { type: "unsubscribed", packetId: id, reasonCodes: [0x11], reasonString: "had none" },
    ]);
  });
});

describe("times the connection reports", () => {
  test("connected: the round trip from CONNECT; closed: the uptime from CONNACK, idle since the last bytes read", () => {
    const h = harness();
    h.send({ cmd: "connack", sessionPresent: false, reasonCode: 0 } as WirePacket, 30);
    h.send({ cmd: "pingresp" } as WirePacket, 400);
    h.conn.socketFailed({ code: "reset" }, 1000);
    expect(h.of("connected").map((e) => e.rtt)).toEqual([30]);
    expect(h.of("closed").map((e) => [e.uptime, e.idle])).toEqual([[970, 600]]);
  });

  test("closed before CONNACK: no uptime, idle since the socket opened", () => {
    const h = harness();
    h.conn.socketFailed({ code: "reset" }, 700);
    expect(h.of("closed").map((e) => [e.uptime, e.idle])).toEqual([[-1, 700]]);
  });
});

describe("keep alive", () => {
  /** Connected with a keep alive of 2 s at t=1, a PINGREQ out at t=2001; returns when its answer is overdue. */
  function pinged() {
    const h = harness({ keepAlive: 2 });
    h.accept();
    h.conn.tick(2001);
    expect(h.written.map((p) => p.cmd)).toContain("pingreq");
    return { h, overdue: h.conn.deadline() };
  }

  test("silence after a PINGREQ ends the connection at the deadline", () => {
    const { h, overdue } = pinged();
    h.conn.tick(overdue);
    expect(h.of("closed").map((e) => e.cause.kind)).toEqual(["keepalive_timeout"]);
  });

  test("the bytes of a large packet crawling in count as the link alive, not only whole packets", () => {
    const { h, overdue } = pinged();
    const big = generate(
      { cmd: "publish", topic: "t", payload: Buffer.alloc(3000, 120), qos: 0, retain: false, dup: false },
      { protocolVersion: 5 },
    );
    // 500 bytes every 300 ms, past the PINGREQ's deadline: the PINGRESP waits behind them on the slow link.
    let now = 2100;
    for (let at = 0; at < big.length; at += 500, now += 300) {
      h.conn.receive(big.subarray(at, at + 500), now);
      h.conn.tick(now);
    }
    expect(now).toBeGreaterThan(overdue);
    h.send({ cmd: "pingresp" } as WirePacket, now);
    h.conn.tick(now);
    expect(h.of("closed")).toEqual([]);
    expect(h.of("message").map((e) => e.publish.payload.length)).toEqual([3000]);
  });
});

describe("confirm: waits until the broker has read what was sent (a remote command's ack)", () => {
  test("each waiter runs at the PINGRESP that answers the PINGREQ sent for it, in order", () => {
    const h = harness();
    h.accept();
    const done: string[] = [];
    expect(h.conn.confirm(2, (read) => done.push(`a ${read}`))).toBe(true);
    expect(h.written.at(-1)?.cmd).toBe("pingreq");
    h.conn.confirm(3, (read) => done.push(`b ${read}`));
    h.send({ cmd: "pingresp" } as WirePacket, 4);
    expect(done).toEqual(["a true"]);
    h.send({ cmd: "pingresp" } as WirePacket, 5);
    expect(done).toEqual(["a true", "b true"]);
  });

  test("a PINGREQ already unanswered is answered first: the waiter runs at the next PINGRESP", () => {
    const h = harness();
    h.accept();
    h.conn.ping(2);
    const done: boolean[] = [];
    h.conn.confirm(3, (read) => done.push(read));
    h.send({ cmd: "pingresp" } as WirePacket, 4);
    expect(done).toEqual([]);
    h.send({ cmd: "pingresp" } as WirePacket, 5);
    expect(done).toEqual([true]);
  });

  test("the connection ending first calls them with false, once; a closed connection takes none", () => {
    const h = harness();
    h.accept();
    const done: boolean[] = [];
    h.conn.confirm(2, (read) => done.push(read));
    h.conn.socketFailed({ code: "reset" }, 3);
    expect(done).toEqual([false]);
    h.send({ cmd: "pingresp" } as WirePacket, 4);
    expect(done).toEqual([false]);
    expect(h.conn.confirm(5, (read) => done.push(read))).toBe(false);
  });

  test("a waiter that ends the connection (a remote reconnect) leaves the next ones unconfirmed", () => {
    const h = harness();
    h.accept();
    const done: string[] = [];
    h.conn.confirm(2, () => {
      done.push("reconnect");
      h.conn.disconnect(3, "console");
    });
    h.conn.confirm(2, (read) => done.push(`next ${read}`));
    h.send({ cmd: "pingresp" } as WirePacket, 3);
    h.send({ cmd: "pingresp" } as WirePacket, 3);
    expect(done).toEqual(["reconnect", "next false"]);
  });
});

describe("enhanced authentication", () => {
  const text = (data: Uint8Array | undefined) => Buffer.from(data ?? []).toString();
  /** A method whose answer is the challenge reversed, and whose broker proves itself with "ok". */
  function method(refuse = false) {
    return {
      method: "X-REVERSE",
      start: () => new TextEncoder().encode("hello"),
      challenge: (data: Uint8Array | undefined) =>
        refuse ? (false as const) : new TextEncoder().encode(text(data).split("").reverse().join("")),
      done: (data: Uint8Array | undefined) => text(data) === "ok",
    };
  }
  const auth = (reasonCode: number, data: string, authenticationMethod = "X-REVERSE") =>
    ({
      cmd: "auth",
      reasonCode,
      properties: { authenticationMethod, authenticationData: Buffer.from(data) },
    }) as WirePacket;

  test("the challenges are answered before CONNACK, and a broker that does not prove itself is refused", () => {
    const h = harness({ extras: { auth: method() } });
    expect(h.written[0]).toMatchObject({ cmd: "connect", properties: { authenticationMethod: "X-REVERSE" } });
    h.send(auth(0x18, "abc"));
    expect(h.written[1]).toMatchObject({ cmd: "auth", reasonCode: 0x18 });
    expect(text((h.written[1] as { properties: { authenticationData: Buffer } }).properties.authenticationData)).toBe(
      "cba",
    );
    h.accept({ authenticationMethod: "X-REVERSE", authenticationData: Buffer.from("forged") });
    expect(h.closed).toBe(true);
    expect(h.written.at(-1)).toMatchObject({ cmd: "disconnect", reasonCode: 0x80 });
    expect(h.of("closed")[0]?.cause).toMatchObject({ kind: "protocol", code: "auth_failed" });
  });

  test("a refused challenge, an AUTH for another method, and an AUTH nobody started end the connection", () => {
    const refused = harness({ extras: { auth: method(true) } });
    refused.send(auth(0x18, "abc"));
    expect(refused.of("closed")[0]?.cause).toMatchObject({ code: "auth_failed" });
    const other = harness({ extras: { auth: method() } });
    other.send(auth(0x18, "abc", "SCRAM-SHA-1"));
    expect(other.written.at(-1)).toMatchObject({ cmd: "disconnect", reasonCode: 0x82 });
    const none = harness();
    none.accept();
    none.send(auth(0x18, "abc"));
    expect(none.of("closed")[0]?.cause).toMatchObject({ kind: "protocol", code: "protocol_error" });
  });

  test("re-authentication: AUTH 0x19, a challenge, then the broker's success is an event", () => {
    const h = harness({ extras: { auth: method() } });
    expect(h.conn.reauthenticate(1)).toBe(false); // not connected yet
    h.accept({ authenticationMethod: "X-REVERSE", authenticationData: Buffer.from("ok") });
    expect(h.conn.reauthenticate(2)).toBe(true);
    expect(h.written.at(-1)).toMatchObject({ cmd: "auth", reasonCode: 0x19 });
    h.send(auth(0x18, "xyz"));
    h.send(auth(0, "ok"));
    expect(h.of("authenticated")).toEqual([{ type: "authenticated", method: "X-REVERSE" }]);
    expect(h.conn.connected).toBe(true);
  });
});

describe("the client's DISCONNECT", () => {
  test("carries its reason and properties; a Session Expiry above the CONNECT's 0 is left out, with a warning", () => {
    const kept = harness();
    kept.accept();
    kept.conn.disconnect(5, "bye", { reasonCode: 4, sessionExpiry: 0, userProperties: [["k", "v"]] });
    expect(kept.written.at(-1)).toMatchObject({
      cmd: "disconnect",
      reasonCode: 4,
      properties: { sessionExpiryInterval: 0, userProperties: { k: "v" } },
    });
    const none = harness({ sessionExpiry: 0 });
    none.accept();
    none.conn.disconnect(5, "bye", { sessionExpiry: 60 });
    expect(none.written.at(-1)).toMatchObject({ cmd: "disconnect", reasonCode: 0 });
    expect((none.written.at(-1) as { properties?: unknown }).properties).toBeUndefined();
    expect(none.of("warning")[0]?.message).toMatch(/session expiry 60 on DISCONNECT left out/);
  });
});
