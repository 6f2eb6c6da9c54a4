// One connection as the sans-IO state machine it is: broker bytes in, device bytes and events out, with a fake
// clock. For what no real broker does (a session claimed on a clean start) and for the exact bytes of the answers.
import { Connection, type ConnectionEvent, type ConnectionOptions } from "tether/client/connection";
import { CodecError, Decoder, Encoder } from "tether/mqtt/codec";
import {
  CONNACK,
  DISCONNECT,
  type Packet,
  type Properties,
  type ProtocolVersion,
  PUBACK,
  PUBLISH,
  PUBREC,
  type QoS,
} from "tether/mqtt/packets";
import { Session } from "tether/mqtt/session";

function setup(version: ProtocolVersion, options: Partial<ConnectionOptions> = {}, session = new Session()) {
  const written: Packet[] = [];
  const events: ConnectionEvent[] = [];
  const decoder = new Decoder(version, 1 << 24);
  let closed = false;
  const conn = new Connection(
    { version, clientId: "c", cleanStart: false, keepAlive: 60, maxPacketSize: 1024, connackTimeout: 5000, ...options },
    session,
    {
      write: (bytes) => {
        decoder.push(bytes.slice());
        for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
          if (p instanceof CodecError) throw new Error(p.message);
          written.push(p);
        }
      },
      close: () => {
        closed = true;
      },
      event: (event) => events.push(event),
    },
  );
  const encoder = new Encoder(64, 1 << 24);
  const receive = (packet: Packet) => {
    const bytes = encoder.encode(packet, version);
    if (bytes instanceof CodecError) throw new Error(bytes.message);
    // In pieces, as TCP delivers them.
    for (let i = 0; i < bytes.length; i += 1000) conn.receive(bytes.slice(i, i + 1000), 0);
  };
  conn.start(0);
  written.length = 0;
  return { conn, session, written, events, receive, closed: () => closed };
}

const connack = (sessionPresent: boolean, properties?: Properties): Packet => ({
  type: CONNACK,
  sessionPresent,
  reasonCode: 0,
  properties,
});

describe("CONNACK", () => {
  test.each([4, 5] as const)("session present answering a clean start is a protocol error (MQTT %s)", (version) => {
    const c = setup(version, { cleanStart: true });
    c.receive(connack(true));
    expect(c.closed()).toBe(true);
    expect(c.conn.connected).toBe(false);
    expect(c.events).toEqual([
      expect.objectContaining({ type: "closed", cause: expect.objectContaining({ kind: "protocol" }) }),
    ]);
    // MQTT 5 says why first: 0x82 Protocol Error.
    expect(c.written).toEqual(version === 5 ? [{ type: DISCONNECT, reasonCode: 0x82 }] : []);
  });

  test("session present without a clean start resumes", () => {
    const c = setup(4);
    c.receive(connack(true));
    expect(c.conn.connected).toBe(true);
  });
});

describe("a PUBLISH over our maximum in MQTT 3.1.1", () => {
  test.each([0, 1, 2] as const)(
    "QoS %i is skipped, acknowledged, reported, and the connection stays up",
    (qos: QoS) => {
      const c = setup(4);
      c.receive(connack(false));
      const big: Packet = {
        type: PUBLISH,
        topic: "dev/cmd",
        payload: new Uint8Array(1 << 20),
        qos,
        retain: false,
        dup: false,
      };
      if (qos) big.packetId = 77;
      c.receive(big);
      c.receive({
        type: PUBLISH,
        topic: "dev/cmd",
        payload: new Uint8Array([0x6f, 0x6b]),
        qos: 0,
        retain: false,
        dup: false,
      });
      expect(c.conn.connected).toBe(true);
      const acks = {
        0: [],
        1: [{ type: PUBACK, packetId: 77, reasonCode: 0 }],
        2: [{ type: PUBREC, packetId: 77, reasonCode: 0 }],
      };
      expect(c.written).toEqual(acks[qos]);
      const kinds = c.events.map((e) => e.type);
      expect(kinds).toEqual(["connected", "skipped", "message"]);
      expect(c.events[1]).toEqual({
        type: "skipped",
        topic: "dev/cmd",
        qos,
        size: (1 << 20) + 9 + (qos ? 4 : 2) + 2,
        max: 1024,
      });
    },
  );
});

test("a PUBLISH announcing 200 MB is named when its header arrives, and acknowledged only once it has passed", () => {
  const c = setup(4);
  c.receive(connack(false));
  // The fixed header of a QoS 1 PUBLISH of 200 MB, its topic and packet id: all that arrives for hours on a slow link.
  const body = 200 * 1024 * 1024;
  const head = [0x32, 0x80 | (body & 0x7f), 0x80 | ((body >> 7) & 0x7f), 0x80 | ((body >> 14) & 0x7f), body >> 21];
  c.conn.receive(Uint8Array.from([...head, 0, 7, ...Buffer.from("dev/cmd"), 0, 42, 0x61, 0x61]), 0);
  expect(c.events.map((e) => e.type)).toEqual(["connected", "skipped"]);
  expect(c.events[1]).toMatchObject({ topic: "dev/cmd", qos: 1, size: body + 5, max: 1024 });
  expect(c.written).toEqual([]);
  expect(c.conn.connected).toBe(true);
  // The rest passes: acknowledged then, named no second time.
  const chunk = new Uint8Array(1 << 20);
  let left = body - 2 - 7 - 2 - 2;
  for (; left >= chunk.length; left -= chunk.length) c.conn.receive(chunk, 0);
  c.conn.receive(chunk.subarray(0, left), 0);
  expect(c.written).toEqual([{ type: PUBACK, packetId: 42, reasonCode: 0 }]);
  expect(c.events.map((e) => e.type)).toEqual(["connected", "skipped"]);
});

test("a PUBLISH skipped for its size has its trace line, as every packet read", () => {
  const c = setup(4);
  c.conn.trace = true;
  c.receive(connack(false));
  const big: Packet = {
    type: PUBLISH,
    topic: "dev/cmd",
    payload: new Uint8Array(5000),
    qos: 1,
    retain: false,
    dup: false,
  };
  big.packetId = 9;
  c.receive(big);
  const traced = c.events
    .filter((e) => e.type === "packet" && e.direction === "in")
    .map((e) => e.type === "packet" && e.packet);
  expect(traced).toEqual([
    expect.objectContaining({ type: CONNACK }),
    expect.objectContaining({ type: PUBLISH, topic: "dev/cmd", qos: 1, packetId: 9 }),
  ]);
  expect(c.events.find((e) => e.type === "packet" && e.packet.type === PUBLISH)).toMatchObject({
    // Fixed header (3), topic (2 + 7), packet id (2), payload.
    size: 3 + 9 + 2 + 5000,
  });
});

describe("a message that can never be sent", () => {
  test("is given up when released (over the broker's Maximum Packet Size), and later publishes still leave", () => {
    const session = new Session();
    // Queued before the broker announced its maximum.
    session.publish({ topic: "t", payload: new Uint8Array(500), qos: 1, retain: false });
    session.publish({ topic: "t", payload: new Uint8Array(10), qos: 1, retain: false });
    const c = setup(5, {}, session);
    c.receive(connack(false, { maximumPacketSize: 200, receiveMaximum: 1 }));
    const completed = c.events.filter((e) => e.type === "completed");
    expect(completed).toEqual([
      {
        type: "completed",
        completion: expect.objectContaining({ packetId: 1, ok: false, reasonCode: 0x95 }),
        ack: PUBLISH,
      },
    ]);
    expect(c.written).toEqual([expect.objectContaining({ type: PUBLISH, packetId: 2, payload: new Uint8Array(10) })]);
    expect(c.conn.publish({ topic: "t", payload: new Uint8Array(1), qos: 0, retain: false }, 0)).toBe("sent");
    expect(session.inflight).toBe(1);
  });
});

describe("a CONNECT that cannot be sent", () => {
  test.each([4, 5] as const)("larger than maxPacketSize ends the connection as ours, at once (MQTT %s)", (version) => {
    // Before, it went unsent and the attempt waited for a CONNACK that could not come: connack_timeout, for ever.
    const c = setup(version, { clientId: "x".repeat(80), maxPacketSize: 64 });
    expect(c.closed()).toBe(true);
    expect(c.events).toEqual([
      expect.objectContaining({ type: "warning", message: expect.stringMatching(/^cannot send packet type 1: /) }),
      expect.objectContaining({ type: "closed", cause: { kind: "local", reason: expect.stringMatching(/CONNECT/) } }),
    ]);
    expect(c.conn.deadline()).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("a broker without retain (MQTT 5 Retain Available 0)", () => {
  test("a retained message waiting for the connection is not sent: completed as refused, 0x9A, and the rest go", () => {
    const session = new Session();
    session.publish({ topic: "t/r", payload: new Uint8Array(1), qos: 1, retain: true });
    session.publish({ topic: "t/p", payload: new Uint8Array(1), qos: 1, retain: false });
    const c = setup(5, {}, session);
    c.receive(connack(false, { retainAvailable: 0 }));
    expect(c.conn.connected).toBe(true);
    // Sent, it would end this connection with DISCONNECT 0x9A, and, kept in the session, every next one.
    expect(c.written).toEqual([expect.objectContaining({ type: PUBLISH, topic: "t/p", retain: false })]);
    expect(c.events).toContainEqual(
      expect.objectContaining({
        type: "completed",
        ack: PUBLISH,
        completion: expect.objectContaining({ ok: false, reasonCode: 0x9a }),
      }),
    );
    expect(c.events).toContainEqual({
      type: "warning",
      message: "retained publish to t/r not sent: the broker has Retain Available 0",
    });
    expect(session.inflight).toBe(1);
  });

  test("a retained QoS 0 message sent at once (publishNow) is not sent either, with the same line", () => {
    const c = setup(5);
    c.receive(connack(false, { retainAvailable: 0 }));
    c.conn.publishNow("t/r", new Uint8Array(1), true, undefined, 1);
    c.conn.publishNow("t/p", new Uint8Array(1), false, undefined, 1);
    expect(c.written).toEqual([expect.objectContaining({ type: PUBLISH, topic: "t/p", retain: false })]);
    expect(c.events).toContainEqual({
      type: "warning",
      message: "retained publish to t/r not sent: the broker has Retain Available 0",
    });
  });

  test("a SUBSCRIBE with a subscription identifier to a broker without them is not sent, with a line", () => {
    const c = setup(5);
    c.receive(connack(false, { subscriptionIdentifiersAvailable: 0 }));
    expect(c.conn.subscribe([{ topicFilter: "a", qos: 1 }], 0, { subscriptionIdentifier: [7] })).toBe(0);
    expect(c.written).toEqual([]);
    expect(c.events).toContainEqual(
      expect.objectContaining({
        type: "warning",
        message: expect.stringMatching(/Subscription Identifier Available 0/),
      }),
    );
  });
});
