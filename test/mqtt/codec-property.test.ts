import fc from "fast-check";
import { CodecError, Decoder, Encoder } from "tether/mqtt/codec";
import { type Packet, PINGREQ, type ProtocolVersion, PUBLISH } from "tether/mqtt/packets";
import { readUtf8, refused, utf8Length, writeUtf8 } from "tether/mqtt/utf8";
import { mutated, noise, packet, versionedPacket } from "./arbitraries";

const MAX = 4096;

function encode(p: Packet, version: ProtocolVersion): Uint8Array {
  const out = new Encoder(32, 1 << 20).encode(p, version);
  if (out instanceof CodecError) throw new Error(`${out.code}: ${out.message}`);
  return out.slice();
}

/**
 * Pushes the pieces and reads after each (or only after the last, with `readAtEnd`); checks the buffer bound;
 * stops at the first error.
 */
function feed(decoder: Decoder, pieces: Uint8Array[], max: number, readAtEnd = false): (Packet | CodecError)[] {
  const out: (Packet | CodecError)[] = [];
  for (let i = 0; i < pieces.length; i++) {
    decoder.push(pieces[i]);
    if (readAtEnd && i < pieces.length - 1) continue;
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) {
      if (decoder.capacity > max + 5) throw new Error(`decoder buffer ${decoder.capacity} > ${max + 5}`);
      out.push(r);
      if (r instanceof CodecError) return out;
    }
  }
  return out;
}

/** Cuts bytes at the given positions (any order, duplicates allowed). */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

test("encode then decode gives the packet back", () => {
  fc.assert(
    fc.property(versionedPacket, ({ version, packet: p }) => {
      const bytes = encode(p, version);
      const decoder = new Decoder(version, 1 << 20);
      decoder.push(bytes);
      expect(decoder.next()).toStrictEqual(p);
      expect(decoder.next()).toBeUndefined();
    }),
    { numRuns: 1000 },
  );
});

test("any chunking of a stream of packets gives the same packets", () => {
  fc.assert(
    fc.property(
      fc
        .constantFrom<ProtocolVersion>(4, 5)
        .chain((v) =>
          fc.tuple(
            fc.constant(v),
            fc.array(packet(v), { minLength: 1, maxLength: 6 }),
            fc.array(fc.nat(), { maxLength: 12 }),
          ),
        ),
      ([version, packets, at]) => {
        const whole = Uint8Array.from(packets.flatMap((p) => [...encode(p, version)]));
        expect(feed(new Decoder(version, 1 << 20), cut(whole, at), 1 << 20)).toStrictEqual(packets);
        expect(feed(new Decoder(version, 1 << 20), cut(whole, at), 1 << 20, true)).toStrictEqual(packets);
      },
    ),
    { numRuns: 300 },
  );
});

test("large payloads in any chunking, pushed from a reused socket buffer, give the same packets", () => {
  fc.assert(
    fc.property(
      fc
        .constantFrom<ProtocolVersion>(4, 5)
        .chain((v) =>
          fc.tuple(
            fc.constant(v),
            fc.array(fc.tuple(packet(v), fc.integer({ min: 0, max: 700 })), { minLength: 1, maxLength: 6 }),
            fc.array(fc.nat(), { maxLength: 12 }),
          ),
        ),
      ([version, items, at]) => {
        // PUBLISH payloads on both sides of the size above which the decoder shares one copy of the pushed bytes.
        const packets = items.map(
          ([p, n], i): Packet => (p.type === 3 ? { ...p, payload: new Uint8Array(n).map((_, k) => k * 7 + i) } : p),
        );
        const whole = Uint8Array.from(packets.flatMap((p) => [...encode(p, version)]));
        // The decoder may read pushed bytes in place only until next() says it needs more.
        const socket = new Uint8Array(whole.length);
        const decoder = new Decoder(version, 1 << 20);
        const out: (Packet | CodecError)[] = [];
        for (const piece of cut(whole, at)) {
          const view = socket.subarray(0, piece.length);
          view.set(piece);
          decoder.push(view);
          for (let r = decoder.next(); r !== undefined && out.length <= packets.length; r = decoder.next()) out.push(r);
          socket.fill(0xee);
        }
        expect(out).toStrictEqual(packets);
      },
    ),
    { numRuns: 300 },
  );
});

test("arbitrary and mutated bytes give only packets or a CodecError, in bounded memory, in any chunking", () => {
  fc.assert(
    fc.property(fc.oneof(mutated, noise), fc.array(fc.nat(), { maxLength: 8 }), ({ version, bytes }, at) => {
      const whole = feed(new Decoder(version, MAX), [bytes], MAX);
      for (const r of whole.slice(0, -1)) expect(r).not.toBeInstanceOf(CodecError);
      for (const r of whole) expect(r instanceof CodecError || typeof r.type === "number").toBe(true);
      // The outcome does not depend on how the bytes arrive.
      expect(feed(new Decoder(version, MAX), cut(bytes, at), MAX)).toStrictEqual(whole);
      expect(feed(new Decoder(version, MAX), cut(bytes, at), MAX, true)).toStrictEqual(whole);
    }),
    { numRuns: 1000 },
  );
});

test("whatever the decoder accepts, the encoder writes back and the decoder reads the same", () => {
  let accepted = 0;
  fc.assert(
    fc.property(mutated, ({ version, bytes }) => {
      for (const r of feed(new Decoder(version, MAX), [bytes], MAX)) {
        if (r instanceof CodecError) continue;
        // A CONNECT carries its own version; the short 3.1.1 CONNACK is accepted by a 5.0 decoder but not written.
        if (r.type === 2 && version === 5 && r.reasonCode > 0 && r.reasonCode <= 5) continue;
        // The decoder reads what a broker sends as the spec allows, controls and non-characters included (refusing
        // a delivery would have it delivered again); the encoder writes only what brokers accept (see utf8.ts).
        const bytes = new Encoder(32, 1 << 20).encode(r, r.type === 1 ? r.protocolVersion : version);
        if (bytes instanceof CodecError && bytes.code === "bad_utf8") continue;
        accepted++;
        const again = new Decoder(version, MAX);
        again.push(encode(r, r.type === 1 ? r.protocolVersion : version));
        expect(again.next()).toStrictEqual(r);
      }
    }),
    { numRuns: 1000 },
  );
  // Mutations keep enough packets valid for this to test something.
  expect(accepted).toBeGreaterThan(50);
});

test("encodePublish0 writes what encode writes for the same QoS 0 PUBLISH, errors included, whatever came before", () => {
  // Two encoders fed the same sequence: one writes every PUBLISH from its parts, the other from a packet object. The
  // same topic twice in a row exercises the bytes left in place; a PINGREQ between them writes over those bytes.
  const topic = fc.constantFrom("a", "a/b", "sensors/é/temp", "x".repeat(200), "", "a/+", "#", "\ud800");
  const step = fc.oneof(
    fc.record({ topic, payload: fc.uint8Array({ maxLength: 300 }), retain: fc.boolean() }),
    fc.constant(undefined),
  );
  fc.assert(
    fc.property(fc.constantFrom<ProtocolVersion>(4, 5), fc.array(step, { maxLength: 12 }), (version, steps) => {
      const parts = new Encoder(16, 512);
      const objects = new Encoder(16, 512);
      for (const s of steps) {
        if (s === undefined) {
          parts.encode({ type: PINGREQ }, version);
          objects.encode({ type: PINGREQ }, version);
          continue;
        }
        const { topic: t, payload, retain } = s;
        const properties = version === 5 ? {} : undefined;
        const fromParts = parts.encodePublish0(t, payload, retain, version);
        const fromObject = objects.encode(
          { type: PUBLISH, topic: t, payload, qos: 0, retain, dup: false, properties },
          version,
        );
        if (fromObject instanceof CodecError) expect(fromParts).toStrictEqual(fromObject);
        else
          expect(fromParts instanceof CodecError ? fromParts.message : [...fromParts]).toStrictEqual([...fromObject]);
      }
    }),
    { numRuns: 500 },
  );
});

test("UTF-8: agrees with the platform's TextEncoder and TextDecoder", () => {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
      const buf = new Uint8Array(s.length * 3 + 4);
      const end = writeUtf8(s, buf, 4);
      if (Array.from(s).some((ch) => refused(ch.codePointAt(0)!))) {
        expect(end).toBe(-1);
        expect(utf8Length(s)).toBe(-1);
        return;
      }
      const expected = new TextEncoder().encode(s);
      expect(buf.subarray(4, end)).toEqual(expected);
      expect(utf8Length(s)).toBe(expected.length);
      expect(readUtf8(buf, 4, end)).toBe(s);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
      let expected: string | undefined;
      try {
        expected = decoder.decode(bytes);
      } catch {
        expected = undefined;
      }
      // TextDecoder drops a leading BOM; MQTT keeps it (spec 1.5.4: U+FEFF is not skipped).
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf && expected !== undefined)
        expected = `\ufeff${expected}`;
      if (expected?.includes("\u0000")) expected = undefined;
      expect(readUtf8(bytes, 0, bytes.length)).toBe(expected);
    }),
    { numRuns: 3000 },
  );
});

test("UTF-8 payload text: any string, lone surrogates included, encodes as TextEncoder does and reads back", () => {
  const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.array(fc.oneof(unit, fc.string({ unit: "binary", maxLength: 3 })), { maxLength: 90 }), (parts) => {
      const s = parts.join("");
      const expected = new TextEncoder().encode(s);
      const buf = new Uint8Array(s.length * 3);
      expect(utf8Length(s, true)).toBe(expected.length);
      expect(buf.subarray(0, writeUtf8(s, buf, 0, true))).toEqual(expected);
      expect(readUtf8(expected, 0, expected.length, true)).toBe(
        new TextDecoder("utf-8", { ignoreBOM: true }).decode(expected),
      );
    }),
    { numRuns: 2000 },
  );
});
