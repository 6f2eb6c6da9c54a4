import fc from "fast-check";
import type { Ack, Packet, Publish, QoS } from "tether/mqtt/packets";
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from "tether/mqtt/packets";
import type { Completion, OutMessage } from "tether/mqtt/session";
import { Session } from "tether/mqtt/session";
import { startXs } from "../helpers/xs";

const message = (topic: string, qos: QoS = 1): OutMessage => ({
  topic,
  payload: new Uint8Array([1]),
  qos,
  retain: false,
});
const ackOf = (type: Ack["type"], packetId: number, reasonCode = 0): Ack => ({ type, packetId, reasonCode });
const incoming = (packetId: number, qos: QoS, dup = false): Publish => ({
  type: PUBLISH,
  topic: "in",
  payload: new Uint8Array(),
  qos,
  retain: false,
  dup,
  packetId,
});
/** A session online with the given broker Receive Maximum. */
function online(brokerReceiveMaximum = 65535, options = {}): Session {
  const session = new Session(options);
  session.resume(false, brokerReceiveMaximum);
  return session;
}
/** The PUBLISH a publish released at once (fails the test when it waited). */
function sent(result: Publish | string): Publish {
  if (typeof result === "string") throw new Error(`not sent: ${result}`);
  return result;
}
/** Packets as [type, packetId, topic|reason, dup] for compact expectations. */
const brief = (packets: Packet[]) =>
  packets.map((p) =>
    p.type === PUBLISH ? [p.type, p.packetId, p.topic, p.dup] : [p.type, (p as Ack).packetId, (p as Ack).reasonCode],
  );

describe("packet identifiers", () => {
  it("counts up from 1 and are shared by publishes and subscriptions", () => {
    const s = online();
    expect(sent(s.publish(message("a"))).packetId).toBe(1);
    expect(s.allocate()).toBe(2);
    expect(sent(s.publish(message("b", 2))).packetId).toBe(3);
  });

  it("wrap around and skip identifiers still in flight, and run out at 65535", () => {
    const s = online();
    const ids: (number | undefined)[] = [];
    for (let i = 1; i <= 65535; i++) ids.push(s.allocate());
    expect(ids.every((id, i) => id === i + 1)).toBe(true);
    expect(s.allocate()).toBeUndefined();
    expect(s.publish(message("late"))).toBe("queued");
    expect(s.release(10)).toBe(true);
    expect(s.release(10)).toBe(false);
    expect(s.release(3)).toBe(true);
    expect(s.allocate()).toBe(3);
    // Waiting publishes move on acks and resume only, so a freed identifier may go to a SUBSCRIBE first.
    expect(s.publish(message("later"))).toBe("queued");
    expect(s.waiting).toBe(2);
    expect(s.allocate()).toBe(10);
    expect(s.allocate()).toBeUndefined();
  });

  it("never hands out an identifier of an unfinished publish after wrapping", () => {
    const s = online();
    const first = sent(s.publish(message("kept", 2))).packetId!;
    for (let i = 2; i <= 65535; i++) s.allocate();
    for (let i = 2; i <= 65535; i++) s.release(i);
    // The counter wrapped to 1, which the QoS 2 message still holds.
    expect(first).toBe(1);
    expect(s.allocate()).toBe(2);
  });
});

describe("outgoing flows", () => {
  it("QoS 0 needs no identifier and leaves no state", () => {
    const s = online();
    const p = sent(s.publish(message("zero", 0)));
    expect(p).toMatchObject({ type: PUBLISH, topic: "zero", qos: 0, dup: false, packetId: undefined });
    expect(s.inflight).toBe(0);
  });

  it("QoS 1: PUBLISH, PUBACK completes", () => {
    const s = online();
    const p = sent(s.publish(message("one")));
    expect(p).toMatchObject({ type: PUBLISH, topic: "one", qos: 1, dup: false, packetId: 1 });
    expect(s.inflight).toBe(1);
    const r = s.onAck(ackOf(PUBACK, 1));
    expect(r.send).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(r.completed).toMatchObject({ packetId: 1, qos: 1, reasonCode: 0, ok: true, message: { topic: "one" } });
    expect(s.inflight).toBe(0);
  });

  it("QoS 2: PUBLISH, PUBREC, our PUBREL, PUBCOMP completes", () => {
    const s = online();
    s.publish(message("two", 2));
    const rec = s.onAck(ackOf(PUBREC, 1));
    expect(rec.send).toEqual([ackOf(PUBREL, 1)]);
    expect(rec.completed).toBeUndefined();
    // A repeated PUBREC gets the PUBREL again, no error.
    expect(s.onAck(ackOf(PUBREC, 1))).toEqual({ send: [ackOf(PUBREL, 1)] });
    const comp = s.onAck(ackOf(PUBCOMP, 1));
    expect(comp.completed).toMatchObject({ packetId: 1, qos: 2, ok: true });
    expect(s.inflight).toBe(0);
  });

  it("PUBCOMP 0x92 to a PUBREL sent again after a reconnect completes; to a first PUBREL it says the sessions disagree", () => {
    const s = online(65535, { protocolVersion: 5 });
    s.publish(message("first", 2));
    s.publish(message("again", 2));
    s.onAck(ackOf(PUBREC, 1));
    s.onAck(ackOf(PUBREC, 2));
    const first = s.onAck(ackOf(PUBCOMP, 1, 0x92));
    expect(first.completed).toMatchObject({ packetId: 1, ok: true, reasonCode: 0x92 });
    expect(first.error).toMatchObject({ reasonCode: 0x92, text: expect.stringMatching(/first PUBREL.*disagree/) });
    s.suspend();
    expect(brief(s.resume(true, 10).send)).toEqual([[PUBREL, 2, 0]]);
    expect(s.onAck(ackOf(PUBCOMP, 2, 0x92))).toEqual({
      send: [],
      completed: expect.objectContaining({ packetId: 2, ok: true }),
    });
  });

  it("a PUBACK or PUBREC with reason >= 0x80 completes as failed, and a failed PUBREC gets no PUBREL", () => {
    const s = online(65535, { protocolVersion: 5 });
    s.publish(message("one"));
    s.publish(message("two", 2));
    const a = s.onAck(ackOf(PUBACK, 1, 0x87));
    expect(a.completed).toMatchObject({ packetId: 1, ok: false, reasonCode: 0x87 });
    const b = s.onAck(ackOf(PUBREC, 2, 0x97));
    expect(b.send).toEqual([]);
    expect(b.completed).toMatchObject({ packetId: 2, qos: 2, ok: false, reasonCode: 0x97 });
    expect(s.inflight).toBe(0);
  });

  it("reports unexpected acks as protocol errors and keeps the message in flight", () => {
    const s = online(65535, { protocolVersion: 5 });
    s.publish(message("one"));
    s.publish(message("two", 2));
    expect(s.onAck(ackOf(PUBACK, 9)).error?.reasonCode).toBe(0x92);
    expect(s.onAck(ackOf(PUBCOMP, 9)).error?.reasonCode).toBe(0x92);
    const unknownRec = s.onAck(ackOf(PUBREC, 9));
    expect(unknownRec.send).toEqual([ackOf(PUBREL, 9, 0x92)]);
    expect(unknownRec.error?.reasonCode).toBe(0x92);
    expect(s.onAck(ackOf(PUBREC, 1))).toMatchObject({ send: [], error: { reasonCode: 0x82 } });
    expect(s.onAck(ackOf(PUBACK, 2))).toMatchObject({ send: [], error: { reasonCode: 0x82 } });
    expect(s.onAck(ackOf(PUBCOMP, 2))).toMatchObject({ send: [], error: { reasonCode: 0x82 } });
    expect(s.inflight).toBe(2);
    expect(s.onAck(ackOf(PUBACK, 1)).completed?.ok).toBe(true);
  });

  it("answers an unknown PUBREC with reason 0 in 3.1.1", () => {
    const s = online();
    expect(s.onAck(ackOf(PUBREC, 4)).send).toEqual([ackOf(PUBREL, 4, 0)]);
  });
});

describe("incoming flows", () => {
  it("QoS 0 is delivered without an answer, QoS 1 delivered and PUBACKed", () => {
    const s = online();
    expect(s.onPublish(incoming(0, 0))).toEqual({ deliver: true });
    expect(s.onPublish(incoming(7, 1))).toEqual({ deliver: true, send: ackOf(PUBACK, 7) });
  });

  it("QoS 2 is delivered once until PUBREL, then the identifier is free again", () => {
    const s = online();
    expect(s.onPublish(incoming(7, 2))).toEqual({ deliver: true, send: ackOf(PUBREC, 7) });
    expect(s.onPublish(incoming(7, 2, true))).toEqual({ deliver: false, send: ackOf(PUBREC, 7) });
    expect(s.onPubrel(ackOf(PUBREL, 7))).toEqual(ackOf(PUBCOMP, 7));
    expect(s.onPublish(incoming(7, 2))).toEqual({ deliver: true, send: ackOf(PUBREC, 7) });
  });

  it("answers PUBREL for an unknown identifier with PUBCOMP (0x92 in 5.0)", () => {
    expect(online(65535, { protocolVersion: 5 }).onPubrel(ackOf(PUBREL, 3))).toEqual(ackOf(PUBCOMP, 3, 0x92));
    expect(online().onPubrel(ackOf(PUBREL, 3))).toEqual(ackOf(PUBCOMP, 3, 0));
    // onAck passes a PUBREL on.
    expect(online().onAck(ackOf(PUBREL, 3))).toEqual({ send: [ackOf(PUBCOMP, 3, 0)] });
  });

  it("reports a broker exceeding our Receive Maximum (0x93)", () => {
    const s = online(65535, { protocolVersion: 5, receiveMaximum: 2 });
    s.onPublish(incoming(1, 2));
    s.onPublish(incoming(2, 2));
    // A duplicate is not a new message in flight.
    expect(s.onPublish(incoming(2, 2, true)).error).toBeUndefined();
    for (const qos of [1, 2] as const) {
      const r = s.onPublish(incoming(3, qos));
      expect(r.deliver).toBe(false);
      expect(r.error?.reasonCode).toBe(0x93);
    }
    s.onPubrel(ackOf(PUBREL, 1));
    expect(s.onPublish(incoming(3, 1)).deliver).toBe(true);
    expect(s.onPublish(incoming(0, 0)).deliver).toBe(true);
  });

  it("rejects a QoS 1 PUBLISH without identifier", () => {
    const r = online().onPublish({ ...incoming(0, 1), packetId: undefined });
    expect(r).toMatchObject({ deliver: false, error: { reasonCode: 0x82 } });
  });
});

describe("Receive Maximum and ordering", () => {
  it("holds messages beyond the broker's Receive Maximum and releases them in publish order", () => {
    const s = online(2);
    const sent = ["a", "b", "c", "d", "e"].map((t, i) => s.publish(message(t, i % 2 ? 2 : 1)) as Publish);
    expect(sent.map((p) => p?.topic)).toEqual(["a", "b", undefined, undefined, undefined]);
    expect([s.inflight, s.waiting]).toEqual([2, 3]);
    // b's PUBREC frees nothing; a's PUBACK frees one slot.
    expect(brief(s.onAck(ackOf(PUBREC, 2)).send)).toEqual([[PUBREL, 2, 0]]);
    expect(brief(s.onAck(ackOf(PUBACK, 1)).send)).toEqual([[PUBLISH, 3, "c", false]]);
    expect(brief(s.onAck(ackOf(PUBCOMP, 2)).send)).toEqual([[PUBLISH, 4, "d", false]]);
    expect([s.inflight, s.waiting]).toEqual([2, 1]);
  });

  it("keeps QoS 0 behind waiting messages so everything leaves in publish order", () => {
    const s = online(1);
    s.publish(message("a"));
    s.publish(message("b"));
    expect(s.publish(message("zero", 0))).toBe("queued");
    expect(brief(s.onAck(ackOf(PUBACK, 1)).send)).toEqual([
      [PUBLISH, 2, "b", false],
      [PUBLISH, undefined, "zero", false],
    ]);
  });

  it("releasesNow is true exactly when a QoS 0 message would leave at once", () => {
    /** releasesNow, checked against what publish then does with a QoS 0 message. */
    const now = (s: Session, topic: string) => {
      const said = s.releasesNow;
      expect(typeof s.publish(message(topic, 0)) !== "string").toBe(said);
      return said;
    };
    const s = new Session();
    expect(now(s, "offline")).toBe(false);
    expect(s.resume(true).send).toHaveLength(1); // the one queued offline
    expect(now(s, "online")).toBe(true);
    // Behind a message waiting for the broker's Receive Maximum.
    const full = online(1);
    sent(full.publish(message("a")));
    full.publish(message("b"));
    expect(now(full, "behind b")).toBe(false);
    // While the session probes a suspect: nothing leaves before the broker answers a PINGREQ.
    const probing = new Session();
    probing.resume(true);
    sent(probing.publish(message("bad")));
    expect(probing.quarantine()).toBeUndefined();
    expect(probing.resume(true).suspect).toBe(true);
    expect(now(probing, "probing")).toBe(false);
  });

  it("holds everything published before the first CONNACK", () => {
    const s = new Session();
    expect(s.publish(message("a", 0))).toBe("queued");
    expect(s.publish(message("b", 2))).toBe("queued");
    expect(s.waiting).toBe(2);
    const r = s.resume(false, 65535);
    expect(brief(r.send)).toEqual([
      [PUBLISH, undefined, "a", false],
      [PUBLISH, 1, "b", false],
    ]);
    expect(r.requeued).toBe(0);
  });
});

describe("resume", () => {
  /** a (QoS 1), b (QoS 2, PUBREC'd), c (QoS 2), d waiting (Receive Maximum 3); then the connection drops. */
  function interrupted(): Session {
    const s = online(3);
    for (const [t, q] of [
      ["a", 1],
      ["b", 2],
      ["c", 2],
      ["d", 1],
    ] as const)
      s.publish(message(t, q));
    s.onAck(ackOf(PUBREC, 2));
    s.onPublish(incoming(40, 2));
    expect(s.allocate()).toBe(4);
    s.suspend();
    expect(s.publish(message("e", 0))).toBe("queued");
    return s;
  }

  it("with a session present resends in original order: PUBLISH dup, PUBREL for PUBREC'd ones", () => {
    const s = interrupted();
    const r = s.resume(true, 4);
    expect(brief(r.send)).toEqual([
      [PUBLISH, 1, "a", true],
      [PUBREL, 2, 0],
      [PUBLISH, 3, "c", true],
      [PUBLISH, 5, "d", false],
      [PUBLISH, undefined, "e", false],
    ]);
    expect(r.requeued).toBe(0);
    expect(r.unacknowledged).toEqual([4]);
    // The SUBSCRIBE's identifier is free again; the broker keeps incoming QoS 2 state.
    expect(s.release(4)).toBe(false);
    expect(s.onPublish(incoming(40, 2, true)).deliver).toBe(false);
    expect(s.onAck(ackOf(PUBCOMP, 2)).completed?.message.topic).toBe("b");
    expect(s.waiting).toBe(0);
  });

  it("resends everything in flight even if the new Receive Maximum is smaller", () => {
    const s = interrupted();
    const r = s.resume(true, 1);
    expect(brief(r.send).map((p) => p[1])).toEqual([1, 2, 3]);
    expect(s.waiting).toBe(2);
  });

  it("without a session sends unfinished messages again as new publishes, in order, and forgets incoming state", () => {
    const s = interrupted();
    const r = s.resume(false, 65535);
    expect(r.requeued).toBe(3);
    expect(r.unacknowledged).toEqual([4]);
    expect(brief(r.send)).toEqual([
      [PUBLISH, 5, "a", false],
      [PUBLISH, 6, "b", false],
      [PUBLISH, 7, "c", false],
      [PUBLISH, 8, "d", false],
      [PUBLISH, undefined, "e", false],
    ]);
    expect(s.onPublish(incoming(40, 2)).deliver).toBe(true);
    // Old identifiers are not in flight any more.
    expect(s.onAck(ackOf(PUBACK, 1)).error?.reasonCode).toBe(0x92);
    expect(s.onAck(ackOf(PUBACK, 5)).completed?.message.topic).toBe("a");
  });

  it("clear() forgets everything", () => {
    const s = interrupted();
    s.clear();
    expect([s.inflight, s.waiting]).toEqual([0, 0]);
    expect(s.resume(true)).toEqual({ send: [], requeued: 0, unacknowledged: [], suspect: false });
  });
});

describe("property: any interleaving of publishes, acks and reconnects", () => {
  const op = fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant("publish" as const), qos: fc.constantFrom(1 as const, 2 as const) }),
      weight: 3,
    },
    { arbitrary: fc.record({ kind: fc.constant("ack" as const), pick: fc.nat(), fail: fc.boolean() }), weight: 4 },
    {
      arbitrary: fc.record({
        kind: fc.constant("reconnect" as const),
        sessionPresent: fc.boolean(),
        receiveMaximum: fc.integer({ min: 1, max: 5 }),
      }),
      weight: 1,
    },
  );

  it("completes every QoS 1/2 message exactly once, with unique identifiers in flight and publish order kept", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (receiveMaximum, ops) => {
        const s = online(receiveMaximum);
        let limit = receiveMaximum;
        /** The broker's view: what is in flight on this connection, by identifier. */
        const broker = new Map<number, { topic: string; qos: QoS; released: boolean }>();
        const completions = new Map<string, number>();
        const firstSent: number[] = [];
        let published = 0;

        const take = (packets: Packet[]) => {
          for (const p of packets) {
            if (p.type === PUBLISH) {
              const id = p.packetId!;
              if (p.dup) {
                expect(broker.get(id)?.topic).toBe(p.topic);
              } else {
                expect(broker.has(id)).toBe(false);
                broker.set(id, { topic: p.topic, qos: p.qos, released: false });
                const index = Number(p.topic);
                if (!firstSent.includes(index)) firstSent.push(index);
              }
            } else if (p.type === PUBREL) {
              broker.get(p.packetId)!.released = true;
            }
          }
          expect(s.inflight).toBe(broker.size);
        };
        const complete = (c: Completion | undefined) => {
          if (c) completions.set(c.message.topic, (completions.get(c.message.topic) ?? 0) + 1);
        };
        const ackOne = (pick: number, fail: boolean) => {
          const ids = Array.from(broker.keys());
          if (ids.length === 0) return;
          const id = ids[pick % ids.length];
          const f = broker.get(id)!;
          const type = f.qos === 1 ? PUBACK : f.released ? PUBCOMP : PUBREC;
          if (type !== PUBREC || fail) broker.delete(id);
          const r = s.onAck(ackOf(type, id, fail && type !== PUBCOMP ? 0x80 : 0));
          expect(r.error).toBeUndefined();
          complete(r.completed);
          take(r.send);
        };

        for (const o of ops) {
          if (o.kind === "publish") {
            const p = s.publish(message(String(published++), o.qos));
            take(typeof p === "string" ? [] : [p]);
          } else if (o.kind === "ack") {
            ackOne(o.pick, o.fail);
          } else {
            s.suspend();
            if (!o.sessionPresent) broker.clear();
            limit = o.receiveMaximum;
            const r = s.resume(o.sessionPresent, limit);
            take(r.send);
          }
          // New messages never push the count in flight past the broker's limit (resends may exceed a shrunk one).
          expect(s.waiting === 0 || s.inflight >= limit).toBe(true);
        }
        // Drain: the broker answers everything, successfully.
        for (let i = 0; i < 4 * published + 4 && (s.inflight > 0 || s.waiting > 0); i++) ackOne(0, false);
        expect([s.inflight, s.waiting]).toEqual([0, 0]);
        expect(completions.size).toBe(published);
        for (const count of completions.values()) expect(count).toBe(1);
        expect(firstSent).toEqual(Array.from({ length: published }, (_, i) => i));
      }),
      { numRuns: 300 },
    );
  });
});

describe("the waiting queue", () => {
  it("obeys its bounds while connected too: QoS 0 gives way, QoS 1/2 are refused with full", () => {
    const s = new Session({ queue: { count: 3, bytes: 1000 } });
    s.resume(false, 1);
    expect(sent(s.publish(message("a"))).packetId).toBe(1);
    expect(s.publish(message("b"))).toBe("queued");
    expect(s.publish(message("z1", 0))).toBe("queued");
    expect(s.publish(message("z2", 0))).toBe("queued");
    // Full: the oldest QoS 0 messages make room for QoS 1 and 2, then none is left for the next.
    expect(s.publish(message("c"))).toBe("queued");
    expect(s.publish(message("d", 2))).toBe("queued");
    expect(s.publish(message("e"))).toBe("full");
    expect(s.publish(message("z3", 0))).toBe("dropped");
    expect([s.waiting, s.dropped]).toEqual([3, 3]);
    const out: Packet[] = [];
    for (let id = 1; id <= 3; id++) out.push(...s.onAck(ackOf(PUBACK, id)).send);
    expect(brief(out)).toEqual([
      [PUBLISH, 2, "b", false],
      [PUBLISH, 3, "c", false],
      [PUBLISH, 4, "d", false],
    ]);
  });

  it("before anything has waited, answers as an empty queue; a message too large for it is dropped and counted", () => {
    const s = new Session({ queue: { count: 10, bytes: 8 } });
    expect([s.waiting, s.dropped, s.releasesNow]).toEqual([0, 0, false]);
    const big = { ...message("t", 0), payload: new Uint8Array(20) };
    expect(s.publish(big)).toBe("dropped");
    expect(s.publish({ ...big, qos: 1 })).toBe("full");
    expect([s.waiting, s.dropped]).toEqual([0, 1]);
    expect(s.resume(false).send).toEqual([]);
    expect(s.releasesNow).toBe(true);
  });

  it("bounds bytes as well as messages", () => {
    const s = new Session({ queue: { count: 100, bytes: 10 } });
    const big = { ...message("t"), payload: new Uint8Array(9) };
    expect(s.publish(big)).toBe("queued");
    expect(s.publish(big)).toBe("full");
  });

  it("bounds only what waits: a message that can leave at once goes, however large", () => {
    const s = new Session({ queue: { count: 100, bytes: 10 } });
    s.resume(false, 1);
    const big = { ...message("t"), payload: new Uint8Array(70000) };
    expect(sent(s.publish(big)).packetId).toBe(1);
    // The window is full now: the next one would wait, and does not fit.
    expect(s.publish(big)).toBe("full");
  });

  it("costs the same per message however long it is, in XS (the device's engine)", async () => {
    // xsnap counts computation steps, element moves of Array.prototype.shift included: deterministic.
    const xs = await startXs("test/mqtt/fixtures/session-burst.ts");
    try {
      const steps: number[] = [];
      for (const count of [5000, 20000]) {
        expect(await xs.call<{ sent: number }>({ count })).toMatchObject({ sent: count });
        steps.push(xs.meter!.compute);
      }
      // Linear: 4 times the messages, about 4 times the steps (an array shift() per message gave 16 times).
      expect(steps[1] / steps[0]).toBeLessThan(6);
      expect(steps[1] / 20000).toBeLessThan(5000);
    } finally {
      await xs.close();
    }
  });
});

describe("a flight that cannot be sent", () => {
  it("is given up with a failed completion, and what waited behind it leaves", () => {
    const s = online(1);
    sent(s.publish(message("huge", 2)));
    expect(s.publish(message("next"))).toBe("queued");
    const r = s.abandon(1, 0x95);
    expect(r.completed).toMatchObject({ packetId: 1, ok: false, reasonCode: 0x95, message: { topic: "huge" } });
    expect(brief(r.send)).toEqual([[PUBLISH, 2, "next", false]]);
    expect(s.abandon(1, 0x95).send).toEqual([]);
  });
});

describe("quarantine: a message the broker closes the connection after, again after it is resent", () => {
  /** A session with one message sent, then "bad" waiting behind it... as a broker that kept the session sees it. */
  function withSuspect() {
    const s = new Session();
    s.resume(true);
    sent(s.publish(message("bad")));
    sent(s.publish(message("good")));
    return s;
  }

  it("is taken out at the second close, after a PINGREQ the broker answered; what followed it leaves", () => {
    const s = withSuspect();
    expect(s.quarantine()).toBeUndefined(); // the first close may be chance
    // Resumed: nothing leaves until the broker answers a PINGREQ.
    const r = s.resume(true);
    expect(r).toMatchObject({ send: [], suspect: true });
    expect(s.publish(message("new"))).toBe("queued");
    // Then one message a PINGRESP, a PINGREQ behind each.
    expect(brief(s.probed())).toEqual([[PUBLISH, 1, "bad", true]]);
    expect(s.quarantine()).toMatchObject({ message: { topic: "bad" }, closes: 2 });
    expect([s.inflight, s.quarantined]).toEqual([1, 1]);
    // The next connection sends the others at once: no suspect left.
    expect(brief(s.resume(true).send)).toEqual([
      [PUBLISH, 2, "good", true],
      [PUBLISH, 3, "new", false],
    ]);
  });

  it("names the message the broker closed on, not the oldest, when the broker dropped the acks before it", () => {
    const s = new Session();
    s.resume(true);
    for (const topic of ["a", "big", "c"]) sent(s.publish(message(topic)));
    // Closed on "big", its PUBACK for "a" lost with the connection: "a", the first unread one, is blamed once.
    expect(s.quarantine()).toBeUndefined();
    expect(s.resume(true)).toMatchObject({ send: [], suspect: true });
    s.pinged();
    expect(brief(s.probed())).toEqual([[PUBLISH, 1, "a", true]]);
    s.pinged();
    expect(brief(s.probed())).toEqual([[PUBLISH, 2, "big", true]]); // "a" read: cleared
    s.onAck(ackOf(PUBACK, 1));
    s.pinged();
    expect(s.quarantine()).toBeUndefined(); // closed before the PINGRESP behind "big": its first
    expect(s.resume(true).suspect).toBe(true);
    s.pinged();
    expect(brief(s.probed())).toEqual([[PUBLISH, 2, "big", true]]);
    s.pinged();
    expect(s.quarantine()).toMatchObject({ message: { topic: "big" }, closes: 2 });
    expect([s.inflight, s.quarantined]).toEqual([1, 1]);
    expect(brief(s.resume(true).send)).toEqual([[PUBLISH, 3, "c", true]]);
  });

  it("sends the next held message only when every PINGREQ out is answered (one unread at most)", () => {
    const s = new Session();
    s.resume(true);
    for (const topic of ["a", "b"]) sent(s.publish(message(topic)));
    s.quarantine();
    expect(s.resume(true).suspect).toBe(true);
    s.pinged(); // the probe
    s.pinged(); // another (a remote command's confirm, a keep alive)
    expect(s.probed()).toEqual([]);
    expect(brief(s.probed())).toEqual([[PUBLISH, 1, "a", true]]);
    s.pinged();
    s.pinged();
    expect(s.probed()).toEqual([]);
    expect(brief(s.probed())).toEqual([[PUBLISH, 2, "b", true]]);
  });

  it("is not taken out when the connection dies before the broker answers the PINGREQ (a cut, not the message)", () => {
    const s = withSuspect();
    s.quarantine();
    for (let i = 0; i < 5; i++) {
      expect(s.resume(true).suspect).toBe(true);
      s.suspend();
      expect(s.quarantine()).toBeUndefined();
    }
    expect([s.inflight, s.quarantined]).toEqual([2, 0]);
  });

  it("is cleared when the broker answers a PINGREQ sent behind the resend (a later cut is the link's, not the message's)", () => {
    const s = withSuspect();
    s.quarantine();
    s.resume(true);
    s.pinged(); // the probe
    expect(brief(s.probed())).toEqual([[PUBLISH, 1, "bad", true]]);
    s.pinged(); // right behind it
    expect(brief(s.probed())).toEqual([[PUBLISH, 2, "good", true]]);
    s.pinged();
    expect(s.probed()).toEqual([]); // answered: the broker read past both messages and kept the connection
    for (let i = 0; i < 3; i++) {
      expect(s.quarantine()).toBeUndefined();
      s.resume(true);
      s.pinged();
      s.probed();
      s.pinged();
      s.probed();
    }
    expect([s.inflight, s.quarantined]).toEqual([2, 0]);
  });

  it("is not suspected when the broker acknowledged anything after it was sent", () => {
    const s = withSuspect();
    s.onAck(ackOf(PUBACK, 2));
    expect(s.quarantine()).toBeUndefined();
    expect(s.resume(true).suspect).toBe(false);
    s.onAck(ackOf(PUBACK, 1));
    expect(s.inflight).toBe(0);
  });

  it("holds across connections that start clean (the message is sent again as a new one)", () => {
    const s = new Session();
    s.resume(false);
    sent(s.publish(message("bad")));
    s.quarantine();
    expect(s.resume(false)).toMatchObject({ send: [], requeued: 1, suspect: true });
    expect(brief(s.probed())).toEqual([[PUBLISH, 2, "bad", false]]);
    expect(s.quarantine()).toMatchObject({ message: { topic: "bad" } });
    expect(s.inflight + s.waiting).toBe(0);
  });

  it("removes its stored value; a broker that lost a session it should keep clears the suspicion", () => {
    const store = new Map<string, string>();
    const nvs = {
      readSetting: (key: string) => store.get(key),
      writeSetting: (key: string, value: string | undefined) =>
        value === undefined ? store.delete(key) : store.set(key, value),
    };
    const s = new Session({ store: nvs });
    s.resume(false);
    sent(s.publish(message("bad")));
    expect(store.has("ses.0")).toBe(true);
    s.quarantine();
    s.resume(true);
    s.probed();
    expect(s.quarantine()).toMatchObject({ message: { topic: "bad" } });
    expect(store.size).toBe(0);
    // A twin with our id that starts clean ends our connections: our session is gone at the next CONNACK.
    s.resume(true);
    sent(s.publish(message("innocent")));
    s.quarantine();
    expect(s.resume(false).suspect).toBe(false);
  });
});

describe("state kept through a reboot", () => {
  /** A store like NVS: names of 15 characters at most, values of 1333 at most; it counts writes. */
  class Nvs {
    values = new Map<string, string>();
    writes = 0;
    readSetting(key: string): string | undefined {
      return this.values.get(key);
    }
    writeSetting(key: string, value: string | undefined): void {
      if (key.length > 15) throw new RangeError(`name ${key}`);
      if (value !== undefined && value.length > 1333) throw new RangeError(`value of ${key}`);
      this.writes++;
      if (value === undefined) this.values.delete(key);
      else this.values.set(key, value);
    }
  }
  const boot = (store: Nvs, persist = true) => new Session({ store, persist });
  const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);

  it("resends in-flight messages with their identifiers, PUBREL for PUBREC'd ones, and takes new identifiers", () => {
    const store = new Nvs();
    const before = boot(store);
    before.resume(true, 10);
    sent(before.publish({ topic: "q/2 spaced", payload: payload(100), qos: 2, retain: true }));
    sent(before.publish(message("q1")));
    sent(before.publish(message("done")));
    before.onAck(ackOf(PUBREC, 1));
    before.onAck(ackOf(PUBACK, 3));
    before.onPublish(incoming(7, 2));
    // The power goes: a new session reads the same store.
    const after = boot(store);
    expect([after.restored, after.lost, after.inflight]).toEqual([2, false, 2]);
    const r = after.resume(true, 10);
    expect(brief(r.send)).toEqual([
      [PUBREL, 1, 0],
      [PUBLISH, 2, "q1", true],
    ]);
    // The broker still holds identifiers 1 and 2: a new message must not reuse them (MQTT-2.2.1-3).
    expect(sent(after.publish(message("new"))).packetId).toBe(3);
    // The incoming QoS 2 message is not delivered twice, and its PUBREL is answered as known.
    expect(after.onPublish(incoming(7, 2, true)).deliver).toBe(false);
    expect(after.onPubrel(ackOf(PUBREL, 7)).reasonCode).toBe(0);
    const done = after.onAck(ackOf(PUBCOMP, 1)).completed!;
    expect(done.message).toEqual({ topic: "q/2 spaced", payload: payload(100), qos: 2, retain: true });
    after.onAck(ackOf(PUBACK, 2));
    after.onAck(ackOf(PUBACK, 3));
    expect([...store.values.keys()]).toEqual([]);
  });

  it("writes on change only: two writes per QoS 1 message, three per QoS 2, none for QoS 0", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(false, 10);
    s.publish(message("zero", 0));
    expect(store.writes).toBe(0);
    s.publish(message("one"));
    s.onAck(ackOf(PUBACK, 1));
    expect(store.writes).toBe(2);
    s.publish(message("two", 2));
    s.onAck(ackOf(PUBREC, 2));
    s.onAck(ackOf(PUBREC, 2)); // a duplicate PUBREC changes nothing
    s.onAck(ackOf(PUBCOMP, 2));
    expect(store.writes).toBe(5);
  });

  it("a transient message (a reply to a remote command) is never stored, and is resent from RAM", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(true, 10);
    for (let i = 0; i < 50; i++) {
      const publish = sent(s.publish({ ...message("reply"), transient: true }));
      if (i < 49) s.onAck(ackOf(PUBACK, publish.packetId!));
    }
    expect(store.writes).toBe(0);
    expect(boot(store).restored).toBe(0);
    // A reconnect with the session present resends it all the same.
    expect(brief(s.resume(true, 10).send)).toEqual([[PUBLISH, 50, "reply", true]]);
  });

  it("stored values that do not parse are named through rejected() and removed; the rest is restored", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(true, 10);
    sent(s.publish(message("kept")));
    store.values.set("ses.1", "garbage");
    store.values.set("ses.2", store.values.get("ses.0")!);
    store.values.set("ses.in", "x y");
    const rejected: string[] = [];
    const named = Object.assign(store, { rejected: (key: string, why: string) => rejected.push(`${key}: ${why}`) });
    const after = new Session({ store: named });
    expect(after.restored).toBe(1);
    expect(rejected).toEqual([
      "ses.1: not a stored message",
      "ses.2: packet id 1 stored twice",
      "ses.in: not packet ids",
    ]);
  });

  it("a message too large to store, or beyond the slots, marks the state lost until it completes", () => {
    const store = new Nvs();
    const s = new Session({ store, slots: 1, queueSlots: 0 });
    s.resume(true, 10);
    sent(s.publish({ ...message("big", 2), payload: payload(1000) }));
    expect(store.values.get("ses.lost")).toBe("1");
    expect(boot(store).lost).toBe(true);
    s.onAck(ackOf(PUBREC, 1));
    s.onAck(ackOf(PUBCOMP, 1));
    expect(store.values.has("ses.lost")).toBe(false);
    sent(s.publish(message("fits")));
    sent(s.publish(message("no slot")));
    expect(store.values.get("ses.lost")).toBe("1");
    s.onAck(ackOf(PUBACK, 3));
    expect(store.values.has("ses.lost")).toBe(false);
  });

  it("when the session is not kept, what a previous run stored leaves as new messages, each value removed once through", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(true, 10);
    s.publish(message("a", 2));
    s.onPublish(incoming(9, 2));
    const clean = boot(store, false);
    // The incoming identifiers were the broker's session's: gone. The message stays stored until it is through.
    expect([...store.values.keys()]).toEqual(["ses.0"]);
    // A power cut now: the next boot has it still (chaos seed 5 lost it).
    const again = boot(store, false);
    const r = again.resume(false, 10);
    expect(brief(r.send)).toEqual([[PUBLISH, 2, "a", false]]);
    again.onAck(ackOf(PUBREC, 2));
    expect(store.values.size).toBe(1);
    again.onAck(ackOf(PUBCOMP, 2));
    expect(store.values.size).toBe(0);
    expect(clean.restored).toBe(1);
  });

  it("when the session is not kept, a previous run's message, still stored, is not named as lost at shutdown", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(true, 10);
    s.publish(message("a", 1));
    const again = boot(store, false);
    // Waiting for the connection, and once through: its value is in the store until then, so a reboot loses nothing.
    expect(again.losing()).toBeUndefined();
    const [sentAgain] = again.resume(false, 10).send as Publish[];
    expect(sentAgain).toMatchObject({ type: PUBLISH, topic: "a", dup: false });
    again.onAck(ackOf(PUBACK, sentAgain!.packetId!));
    expect([store.values.size, again.losing()]).toEqual([0, undefined]);
  });

  it("the first close after a stored message outlives a reboot: the next boot's first close after it quarantines it", () => {
    const store = new Nvs();
    const s = boot(store);
    s.resume(true, 10);
    sent(s.publish(message("bad", 2)));
    sent(s.publish(message("good")));
    expect(s.quarantine()).toBeUndefined();
    expect(store.values.get("ses.sus")).toBe("0");
    // Rebooted before the second close: the message is still suspect, and probed first.
    const after = boot(store);
    expect(after.resume(true, 10)).toMatchObject({ send: [], suspect: true });
    after.pinged();
    expect(brief(after.probed())).toEqual([[PUBLISH, 1, "bad", true]]);
    after.pinged();
    expect(after.quarantine()).toMatchObject({ message: { topic: "bad" }, closes: 2 });
    expect(store.values.has("ses.sus")).toBe(false);
    expect(store.values.has("ses.0")).toBe(false);
    // Without a session kept, the values a previous run left ("good") are marked the same way.
    const clean = boot(store, false);
    clean.resume(false, 10);
    expect(clean.quarantine()).toBeUndefined();
    expect(store.values.get("ses.sus")).toBe("1");
    const cleanAgain = boot(store, false);
    expect(cleanAgain.resume(false, 10).suspect).toBe(true);
  });

  it("a mark that names no stored message is removed; one cleared by an ack goes with the message's value", () => {
    const store = new Nvs();
    store.values.set("ses.sus", "7");
    boot(store);
    expect(store.values.has("ses.sus")).toBe(false);
    const s = boot(store);
    s.resume(true, 10);
    sent(s.publish(message("a")));
    s.quarantine();
    expect(store.values.get("ses.sus")).toBe("0");
    s.resume(true, 10);
    s.pinged();
    s.probed();
    s.onAck(ackOf(PUBACK, 1));
    expect(store.values.size).toBe(0);
  });

  it("ignores stored values it cannot read", () => {
    const store = new Nvs();
    store.values.set("ses.0", "junk");
    store.values.set("ses.1", "5 3 1 t");
    store.values.set("ses.2", "6 1 1 t!!!");
    store.values.set("ses.in", "1 x 70000");
    const s = boot(store);
    expect([s.restored, s.inflight]).toEqual([0, 0]);
    expect(s.onPublish(incoming(1, 2, true)).deliver).toBe(false);
  });

  describe("waiting QoS 1/2 messages (offline, or behind the in-flight window)", () => {
    it("are stored and, after a power cut, sent in order behind the restored flights and before newer ones", () => {
      const store = new Nvs();
      const before = boot(store);
      before.resume(true, 1);
      sent(before.publish(message("flight", 2)));
      expect(before.publish(message("w1"))).toBe("queued");
      expect(before.publish(message("w0", 0))).toBe("queued");
      before.suspend();
      expect(before.publish(message("w2", 2))).toBe("queued");
      expect(before.publish({ ...message("w3"), retain: true, payload: payload(50) })).toBe("queued");
      expect(before.losing()).toBeUndefined();
      const after = boot(store);
      expect([after.restored, after.inflight, after.waiting, after.droppedAtBoot]).toEqual([4, 1, 3, undefined]);
      expect(after.publish(message("newer"))).toBe("queued");
      const r = after.resume(true, 10);
      expect(brief(r.send)).toEqual([
        [PUBLISH, 1, "flight", true],
        [PUBLISH, 2, "w1", false],
        [PUBLISH, 3, "w2", false],
        [PUBLISH, 4, "w3", false],
        [PUBLISH, 5, "newer", false],
      ]);
      const w3 = r.send[3] as Publish;
      expect([w3.qos, w3.retain, w3.payload]).toEqual([1, true, payload(50)]);
      // Sent, they are flights now, stored under the values they had while waiting; completed, they are gone.
      expect(boot(store).inflight).toBe(5);
      after.onAck(ackOf(PUBREC, 1));
      after.onAck(ackOf(PUBCOMP, 1));
      after.onAck(ackOf(PUBACK, 2));
      after.onAck(ackOf(PUBREC, 3));
      after.onAck(ackOf(PUBCOMP, 3));
      after.onAck(ackOf(PUBACK, 4));
      after.onAck(ackOf(PUBACK, 5));
      expect([...store.values.keys()]).toEqual([]);
    });

    it("cost one write more than a message that leaves at once: its flight overwrites the value", () => {
      const store = new Nvs();
      const s = boot(store);
      s.publish(message("offline"));
      expect(store.writes).toBe(1);
      s.resume(true, 10);
      expect(store.writes).toBe(2);
      s.onAck(ackOf(PUBACK, 1));
      expect([store.writes, store.values.size]).toEqual([3, 0]);
    });

    it("what cannot be stored is counted with why; the marker names a power cut at the next boot", () => {
      const store = new Nvs();
      const s = new Session({ store, queueSlots: 1 });
      s.publish(message("stored"));
      s.publish(message("no slot"));
      expect(store.values.get("ses.drop")).toBe("no_slot");
      s.publish({ ...message("big", 2), payload: payload(1000) });
      s.publish(message("zero", 0));
      s.publish({ ...message("reply"), transient: true });
      expect(s.losing()).toEqual({ count: 2, reason: "too_large" });
      // losing() is the polite shutdown: named there, so not again at the next boot.
      expect(store.values.has("ses.drop")).toBe(false);
      s.publish({ ...message("props"), properties: { contentType: "x" } });
      expect(store.values.get("ses.drop")).toBe("properties");
      const after = boot(store);
      expect([after.droppedAtBoot, after.restored, store.values.has("ses.drop")]).toEqual(["properties", 1, false]);
      expect(boot(store).droppedAtBoot).toBeUndefined();
      store.values.set("ses.drop", "\u0001garbage");
      expect(boot(store).droppedAtBoot).toBeUndefined();
      expect(store.values.has("ses.drop")).toBe(false);
      // Once they have left, nothing is at risk and the marker goes.
      s.resume(true, 10);
      expect([s.waiting, s.losing(), store.values.has("ses.drop")]).toEqual([0, undefined, false]);
    });

    it("a store that refuses the write (the flash budget) leaves the message in RAM, named", () => {
      const store = new Nvs();
      const s = boot(store);
      const write = store.writeSetting.bind(store);
      store.writeSetting = (key, value) => {
        if (value !== undefined && key !== "ses.drop") throw new RangeError("flash budget spent");
        write(key, value);
      };
      s.publish(message("a"));
      expect(s.losing()).toEqual({ count: 1, reason: "store_refused" });
    });

    it("with no session kept, nothing is written, and what a reboot loses (waiting and in flight) is counted", () => {
      const store = new Nvs();
      const s = boot(store, false);
      s.resume(false, 1);
      sent(s.publish(message("flight")));
      s.publish(message("waiting", 2));
      s.publish({ ...message("reply"), transient: true });
      expect([store.writes, s.losing()]).toEqual([0, { count: 2, reason: "no_session" }]);
    });

    it("a session not kept, booted over the markers of a previous run only: names them, removes them, writes no more", () => {
      const store = new Nvs();
      store.values.set("ses.lost", "1");
      store.values.set("ses.drop", "no_slot");
      const s = boot(store, false);
      expect([s.lost, s.droppedAtBoot, s.restored, store.values.size]).toEqual([true, "no_slot", 0, 0]);
      const removed = store.writes;
      s.resume(false, 1);
      sent(s.publish(message("flight")));
      s.publish(message("waiting", 2));
      // Each marker removed once: a second removal would be one more flash write for nothing.
      expect([removed, store.writes]).toEqual([2, 2]);
      expect([store.values.size, s.losing()]).toEqual([0, { count: 2, reason: "no_session" }]);
    });

    it("stored by a kept session and read back by one that is not: sent as new, its value removed once through", () => {
      const store = new Nvs();
      boot(store).publish(message("w"));
      const s = boot(store, false);
      // Still stored: a reboot loses nothing.
      expect([s.restored, s.waiting, store.values.size, s.losing()]).toEqual([1, 1, 1, undefined]);
      expect(brief(s.resume(false, 10).send)).toEqual([[PUBLISH, 1, "w", false]]);
      s.onAck(ackOf(PUBACK, 1));
      expect(store.values.size).toBe(0);
    });

    it("a broker that lost our session: flights wait again, stored as waiting messages", () => {
      const store = new Nvs();
      const s = boot(store);
      s.resume(true, 2);
      sent(s.publish(message("a")));
      sent(s.publish(message("b")));
      s.suspend();
      s.resume(true, 1);
      s.suspend();
      expect(brief(boot(store).resume(true, 10).send)).toEqual([
        [PUBLISH, 1, "a", true],
        [PUBLISH, 2, "b", true],
      ]);
      // Only one may leave on the new connection: the other waits, stored.
      const r = s.resume(false, 1);
      expect(brief(r.send)).toEqual([[PUBLISH, 3, "a", false]]);
      const after = boot(store);
      expect([after.inflight, after.waiting]).toEqual([1, 1]);
    });

    it("clear() removes the stored waiting messages", () => {
      const store = new Nvs();
      const s = boot(store);
      s.publish(message("a"));
      s.publish({ ...message("big"), payload: payload(1000) });
      s.clear();
      expect([store.values.size, s.losing()]).toEqual([0, undefined]);
    });

    it("a stored waiting message that does not parse, or whose topic brokers refuse, is rejected", () => {
      const store = new Nvs();
      store.values.set("ses.0", "q 1 1 t");
      store.values.set("ses.1", "q1 1 3 a\u0001bAQ==");
      store.values.set("ses.2", "q2 1 1 tAQ==");
      const rejected: string[] = [];
      const named = Object.assign(store, { rejected: (key: string) => rejected.push(key) });
      const s = new Session({ store: named });
      expect([s.restored, s.waiting, rejected]).toEqual([1, 1, ["ses.0", "ses.1"]]);
    });
  });
});
