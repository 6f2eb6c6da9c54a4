// The waiting queue against a plain model (the array the session used before: findIndex, splice, shift), on random
// sequences of pushes, takes and requeues: same answers, same order, same counts, whatever holes and compactions.
import fc from "fast-check";
import type { QoS } from "tether/mqtt/packets";
import { MessageQueue, type QueueResult } from "tether/mqtt/queue";

interface M {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
}

class Model {
  items: M[] = [];
  dropped = 0;
  constructor(
    private readonly count: number,
    private readonly bytes: number,
  ) {}
  size(): number {
    return this.items.reduce((n, m) => n + m.payload.length + m.topic.length, 0);
  }
  push(m: M): QueueResult {
    const cost = m.payload.length + m.topic.length;
    while (!(this.items.length < this.count && this.size() + cost <= this.bytes)) {
      const victim = this.items.findIndex((x) => x.qos === 0);
      if (victim < 0) {
        if (m.qos > 0) return "full";
        this.dropped++;
        return "dropped";
      }
      this.items.splice(victim, 1);
      this.dropped++;
    }
    this.items.push(m);
    return "queued";
  }
}

const op = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), qos: fc.constantFrom<QoS>(0, 0, 1, 2), size: fc.nat(12) }),
  fc.record({ kind: fc.constant("shift" as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("requeue" as const), n: fc.integer({ min: 1, max: 3 }) }),
);

test("behaves as the plain array it replaces", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 4, max: 60 }),
      fc.array(op, { maxLength: 300 }),
      (count, bytes, ops) => {
        const queue = new MessageQueue<M>({ count, bytes });
        const model = new Model(count, bytes);
        let serial = 0;
        for (const o of ops) {
          if (o.kind === "push") {
            const m = { topic: `${serial++}`, payload: new Uint8Array(o.size), qos: o.qos };
            expect(queue.push(m)).toBe(model.push(m));
          } else if (o.kind === "shift") {
            for (let i = 0; i < o.n; i++) {
              expect(queue.first()).toBe(model.items[0]);
              queue.shift();
              model.items.shift();
            }
          } else {
            // Flights given back: QoS 1/2 messages that are not in the queue, put in front whatever the bounds.
            const back = Array.from({ length: o.n }, () => ({
              topic: `${serial++}`,
              payload: new Uint8Array(3),
              qos: 1 as QoS,
            }));
            queue.requeue(back);
            model.items.unshift(...back);
          }
          expect([queue.length, queue.bytes, queue.dropped]).toEqual([model.items.length, model.size(), model.dropped]);
        }
        const rest: M[] = [];
        for (let m = queue.first(); m; m = queue.first()) {
          rest.push(m);
          queue.shift();
        }
        expect(rest).toEqual(model.items);
      },
    ),
    { numRuns: 500 },
  );
});
