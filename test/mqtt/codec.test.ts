import { CodecError, type CodecErrorCode, Decoder, Encoder } from "tether/mqtt/codec";
import { type Packet, type Properties, type ProtocolVersion, PUBLISH, type Publish } from "tether/mqtt/packets";
import { PROPERTIES, propertyById, propertyByName } from "tether/mqtt/properties";
import { reasonName, validReason } from "tether/mqtt/reasons";
import { badCharacter, readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";
import { DEFAULT_MAX_PACKET_SIZE, fromHex, packetFromJson, toHex, VECTORS, type Vector } from "./vectors";

/** The first size of the decoder's buffer for a packet arriving in pieces (GATHER in codec.ts). */
const GATHER_FIRST = 128;

const valid = VECTORS.filter((v) => v.packet !== undefined && v.hex !== undefined);
const decodeErrors = VECTORS.filter((v) => v.packet === undefined);
const encodeErrors = VECTORS.filter((v) => v.hex === undefined);

/** Every packet (or the error) a decoder gives for these bytes pushed in `chunk`-byte pieces. */
function decodeAll(version: ProtocolVersion, bytes: Uint8Array, chunk = bytes.length, max = DEFAULT_MAX_PACKET_SIZE) {
  const decoder = new Decoder(version, max);
  const out: (Packet | CodecError)[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    decoder.push(bytes.subarray(i, i + chunk));
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) {
      out.push(r);
      if (r instanceof CodecError) return out;
    }
  }
  return out;
}

function encodeHex(v: Vector): string | CodecError {
  const encoder = new Encoder(64, v.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE);
  const r = encoder.encode(packetFromJson(v.packet!), v.version);
  return r instanceof CodecError ? r : toHex(r);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("vectors", () => {
  test.each(valid.filter((v) => !v.decodeOnly).map((v) => [v.name, v] as const))("encode %s", (_, v) => {
    expect(encodeHex(v)).toBe(v.hex);
  });

  test.each(valid.map((v) => [v.name, v] as const))("decode %s", (_, v) => {
    expect(decodeAll(v.version, fromHex(v.hex!))).toStrictEqual([packetFromJson(v.packet!)]);
  });

  test.each(decodeErrors.map((v) => [v.name, v] as const))("decoder refuses %s", (_, v) => {
    const out = decodeAll(v.version, fromHex(v.hex!), undefined, v.maxPacketSize);
    expect(out).toHaveLength(1);
    expect(out[0]).toBeInstanceOf(CodecError);
    expect((out[0] as CodecError).code).toBe(v.error);
  });

  test.each(encodeErrors.map((v) => [v.name, v] as const))("encoder refuses %s", (_, v) => {
    const r = encodeHex(v);
    expect(r).toBeInstanceOf(CodecError);
    expect((r as CodecError).code).toBe(v.error);
  });

  test("every error code is reached by the decoder and the encoder", () => {
    // A Record over the union: adding a code without listing it here is a compile error.
    const all: Record<CodecErrorCode, true> = {
      malformed_length: true,
      packet_too_large: true,
      bad_packet_type: true,
      reserved_flags: true,
      malformed_packet: true,
      bad_utf8: true,
      bad_property: true,
      duplicate_property: true,
      bad_topic: true,
      bad_qos: true,
      bad_packet_id: true,
      protocol_error: true,
      unsupported_protocol_version: true,
    };
    const decoded = new Set(decodeErrors.map((v) => v.error));
    expect([...decoded].sort()).toEqual(Object.keys(all).sort());
    const encoded = new Set(encodeErrors.map((v) => v.error));
    // The encoder never reads bytes, so it cannot meet a malformed length or reserved flags.
    const readOnly = ["malformed_length", "reserved_flags", "malformed_packet"];
    expect([...encoded].sort()).toEqual(
      Object.keys(all)
        .filter((c) => !readOnly.includes(c))
        .sort(),
    );
  });

  test("cover every packet type in both versions", () => {
    for (const version of [4, 5] as const) {
      const types = new Set(valid.filter((v) => v.version === version).map((v) => packetFromJson(v.packet!).type));
      expect(types.size).toBe(version === 5 ? 15 : 14);
    }
  });
});

describe("Decoder", () => {
  const stream = (version: ProtocolVersion) =>
    valid.filter((v) => v.version === version && !v.decodeOnly).map((v) => fromHex(v.hex!));

  test.each([4, 5] as const)("one byte at a time gives the same packets as one chunk (%i)", (version) => {
    const bytes = concat(stream(version));
    const whole = decodeAll(version, bytes);
    expect(whole.length).toBe(stream(version).length);
    expect(whole.some((p) => p instanceof CodecError)).toBe(false);
    expect(decodeAll(version, bytes, 1)).toStrictEqual(whole);
    expect(decodeAll(version, bytes, 7)).toStrictEqual(whole);
  });

  test.each([
    [1, "one byte at a time"],
    [7, "7-byte chunks"],
    [100000, "one chunk"],
  ])("reports each packet's encoded size however it arrives (%i: %s)", (chunk) => {
    for (const version of [4, 5] as const) {
      const packets = stream(version);
      const bytes = concat(packets);
      const decoder = new Decoder(version, DEFAULT_MAX_PACKET_SIZE);
      const sizes: number[] = [];
      for (let i = 0; i < bytes.length; i += chunk) {
        decoder.push(bytes.subarray(i, i + chunk));
        for (let p = decoder.next(); p !== undefined; p = decoder.next()) sizes.push(decoder.length);
      }
      expect(sizes).toEqual(packets.map((p) => p.length));
    }
  });

  test("many packets in one chunk larger than the buffer", () => {
    const encoder = new Encoder(64, 4096);
    const parts: Uint8Array[] = [];
    for (let i = 1; i <= 200; i++) {
      const payload = new Uint8Array(i * 10).fill(i);
      const out = encoder.encode(
        { type: 3, topic: `t/${i}`, payload, qos: 1, retain: false, dup: false, packetId: i },
        5,
      );
      parts.push((out as Uint8Array).slice());
    }
    const decoder = new Decoder(5, 4096);
    decoder.push(concat(parts));
    for (let i = 1; i <= 200; i++) {
      const p = decoder.next() as Packet;
      expect(p).toMatchObject({ type: 3, topic: `t/${i}`, packetId: i });
      expect(p.type === 3 && p.payload.length === i * 10 && p.payload.every((b) => b === i)).toBe(true);
      expect(decoder.capacity).toBeLessThanOrEqual(4096 + 5);
    }
    expect(decoder.next()).toBeUndefined();
  });

  test("pushes without reading in between are kept in order", () => {
    const decoder = new Decoder(4, 64);
    const bytes = concat(stream(4));
    for (let i = 0; i < bytes.length; i += 50) decoder.push(bytes.subarray(i, i + 50));
    const out: (Packet | CodecError)[] = [];
    for (let r = decoder.next(); r !== undefined && out.length < 100; r = decoder.next()) out.push(r);
    expect(out).toStrictEqual(decodeAll(4, bytes));
  });

  test("a header announcing 256 MB fails after 5 bytes, before any allocation for the body (MQTT 5)", () => {
    const decoder = new Decoder(5, 1 << 20);
    decoder.push(fromHex("30ffffff"));
    expect(decoder.next()).toBeUndefined();
    decoder.push(fromHex("7f"));
    const r = decoder.next();
    expect(r).toBeInstanceOf(CodecError);
    expect((r as CodecError).code).toBe("packet_too_large");
    // The header arrived in pieces: gathered in the decoder's first buffer, never grown.
    expect(decoder.capacity).toBe(GATHER_FIRST);
  });

  describe("a PUBLISH over the maximum in 3.1.1 is skipped as it streams past", () => {
    const big = (qos: 0 | 1 | 2, topic: string, size: number, id = 0x1234) => {
      const encoder = new Encoder(64, 1 << 24);
      const packet: Publish = {
        type: PUBLISH,
        topic,
        payload: new Uint8Array(size).fill(0x61),
        qos,
        retain: false,
        dup: false,
      };
      const bytes = encoder.encode(qos ? { ...packet, packetId: id } : packet, 4) as Uint8Array;
      return bytes.slice();
    };
    const ping = fromHex("d000");

    test.each([1, 7, 64 * 1024])(
      "in %i-byte chunks, with the packet after it decoded, and nothing buffered",
      (chunk) => {
        const decoder = new Decoder(4, 1024);
        const before = decoder.capacity;
        const bytes = concat([big(1, "tether/dev/cmd", 1 << 20), ping]);
        const out: (Packet | CodecError)[] = [];
        // The capacity after every chunk, kept only when it changed: an expect() per byte took 35 s of a million.
        const capacities = new Set<number>();
        for (let i = 0; i < bytes.length; i += chunk) {
          decoder.push(bytes.subarray(i, i + chunk));
          for (let r = decoder.next(); r !== undefined; r = decoder.next()) out.push(r);
          capacities.add(decoder.capacity);
        }
        // Nothing grows: the first gathering buffer at most (made for a header in pieces), else none.
        expect(Math.max(before, ...capacities)).toBeLessThanOrEqual(GATHER_FIRST);
        // Named as soon as its topic and packet id are in (a slow link may take hours for the rest), then again
        // once all of it has passed, when it may be acknowledged.
        expect(out).toHaveLength(3);
        const header = { topic: "tether/dev/cmd", qos: 1, packetId: 0x1234, size: bytes.length - 2 };
        for (const [k, done] of [
          [0, false],
          [1, true],
        ] as const) {
          const skipped = out[k] as CodecError;
          expect(skipped).toBeInstanceOf(CodecError);
          expect(skipped.code).toBe("packet_too_large");
          expect(skipped.skipped).toEqual({ ...header, done });
        }
        expect(out[2]).toEqual({ type: 13 });
      },
    );

    test("QoS 0 has no packet id; a long topic is named by its start, never cut inside a character", () => {
      const decoder = new Decoder(4, 512);
      const topic = `${"a".repeat(63)}é${"b".repeat(600)}`;
      decoder.push(big(0, topic, 100));
      const r = decoder.next() as CodecError;
      expect(r.skipped).toMatchObject({ topic: `${"a".repeat(63)}...`, qos: 0, packetId: 0 });
      decoder.push(big(2, "t", 600, 9));
      expect((decoder.next() as CodecError).skipped).toMatchObject({ topic: "t", qos: 2, packetId: 9 });
    });

    test("other packets over the maximum, and any in MQTT 5, still fail", () => {
      const v5 = new Decoder(5, 512);
      v5.push(big(1, "t", 600));
      expect((v5.next() as CodecError).skipped).toBeUndefined();
      expect(v5.next()).toBeInstanceOf(CodecError);
      const suback = new Decoder(4, 64);
      suback.push(fromHex("90ff01"));
      expect(suback.next()).toMatchObject({ code: "packet_too_large", skipped: undefined });
    });
  });

  test("topics of the same length but other bytes are read as they are, the last one's string reused for the same", () => {
    const topics = ["a/b", "a/b", "a/c", "é/b", "a/b", "x".repeat(300), "x".repeat(300), "a/b"];
    const encoder = new Encoder(8, 1 << 20);
    const decoder = new Decoder(4, 1 << 20);
    for (const topic of topics) {
      const payload = new Uint8Array([1, 2]);
      const bytes = encoder.encode({ type: PUBLISH, topic, payload, qos: 0, retain: false, dup: false }, 4);
      decoder.push((bytes as Uint8Array).slice());
      expect((decoder.next() as Publish).topic).toBe(topic);
    }
    // A wildcard in a topic that would otherwise match the last one's length is still refused.
    decoder.push(fromHex("3005 0003 612f2b"));
    expect((decoder.next() as CodecError).code).toBe("bad_topic");
  });

  test("a bad first byte fails at once", () => {
    const decoder = new Decoder(5, 1 << 20);
    decoder.push(fromHex("00"));
    expect((decoder.next() as CodecError).code).toBe("bad_packet_type");
  });

  test("stays failed after an error", () => {
    const decoder = new Decoder(4, 1024);
    decoder.push(fromHex("60020001"));
    const error = decoder.next();
    expect((error as CodecError).code).toBe("reserved_flags");
    decoder.push(fromHex("c000"));
    expect(decoder.next()).toBe(error);
    expect(decoder.next()).toBe(error);
  });

  test("a large PUBLISH arriving in pieces goes straight into its payload; the buffer stays small", () => {
    const encoder = new Encoder(16, 100_000);
    const payload = new Uint8Array(60_000).map((_, i) => i & 0xff);
    const bytes = (
      encoder.encode({ type: 3, topic: "big", payload, qos: 0, retain: false, dup: false }, 4) as Uint8Array
    ).slice();
    const decoder = new Decoder(4, 100_000);
    const before = decoder.capacity;
    expect(before).toBeLessThanOrEqual(256);
    const out: (Packet | CodecError)[] = [];
    for (let i = 0; i < bytes.length; i += 1460) {
      decoder.push(bytes.subarray(i, i + 1460));
      for (let r = decoder.next(); r !== undefined && out.length < 10; r = decoder.next()) out.push(r);
    }
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 3, topic: "big", payload });
    expect(decoder.capacity).toBe(before);
  });

  test("grows for another large packet arriving in pieces, up to its size", () => {
    const encoder = new Encoder(16, 4096);
    const reasonCodes = Array.from({ length: 2000 }, (_, i) => i % 3);
    const bytes = (encoder.encode({ type: 9, packetId: 7, reasonCodes }, 4) as Uint8Array).slice();
    const decoder = new Decoder(4, 4096);
    const out: (Packet | CodecError)[] = [];
    for (let i = 0; i < bytes.length; i += 100) {
      decoder.push(bytes.subarray(i, i + 100));
      for (let r = decoder.next(); r !== undefined && out.length < 10; r = decoder.next()) out.push(r);
    }
    expect(out).toStrictEqual([{ type: 9, packetId: 7, reasonCodes }]);
    expect(decoder.capacity).toBeGreaterThanOrEqual(bytes.length);
    expect(decoder.capacity).toBeLessThanOrEqual(4096 + 5);
  });

  test("decoded packets do not change when the pushed bytes are reused after the reads", () => {
    const encoder = new Encoder(16, 4096);
    const packets: Packet[] = [16, 200, 300, 1000].map((n, i) => ({
      type: 3,
      topic: `t/${i}`,
      payload: new Uint8Array(n).fill(i + 1),
      qos: 1,
      retain: false,
      dup: false,
      packetId: i + 1,
    }));
    const bytes = concat(packets.map((p) => (encoder.encode(p, 4) as Uint8Array).slice()));
    // One socket buffer, reused for every read as a device's would be.
    const socket = new Uint8Array(700);
    const decoder = new Decoder(4, 4096);
    const out: (Packet | CodecError)[] = [];
    for (let i = 0; i < bytes.length; i += socket.length) {
      const n = Math.min(socket.length, bytes.length - i);
      socket.set(bytes.subarray(i, i + n));
      decoder.push(socket.subarray(0, n));
      for (let r = decoder.next(); r !== undefined && out.length < 10; r = decoder.next()) out.push(r);
      socket.fill(0xee);
    }
    expect(out).toStrictEqual(packets);
  });

  test("a push before the previous bytes were read copies them", () => {
    const bytes = concat(stream(4));
    const decoder = new Decoder(4, 4096);
    const first = bytes.slice(0, 100);
    decoder.push(first);
    decoder.push(bytes.subarray(100));
    first.fill(0);
    const out: (Packet | CodecError)[] = [];
    for (let r = decoder.next(); r !== undefined && out.length < 100; r = decoder.next()) out.push(r);
    expect(out).toStrictEqual(decodeAll(4, bytes));
  });

  test("the version can change after CONNACK; a CONNECT is read per its own level", () => {
    const decoder = new Decoder(4, 1024);
    decoder.push(fromHex(valid.find((v) => v.name === "5.0 CONNECT password without user name")!.hex!));
    expect(decoder.next()).toMatchObject({ type: 1, protocolVersion: 5, password: fromHex("70") });
    decoder.version = 5;
    decoder.push(fromHex("4003000110"));
    expect(decoder.next()).toStrictEqual({ type: 4, packetId: 1, reasonCode: 0x10 });
  });

  test("a 3.1.1 CONNACK's refusal reaches a 5.0 decoder (its broker refuses 5.0); with a property block it is 5.0's", () => {
    expect(decodeAll(5, fromHex("20020001"))).toStrictEqual([{ type: 2, sessionPresent: false, reasonCode: 1 }]);
    expect(decodeAll(5, fromHex("2003000100"))).toMatchObject([
      { code: "protocol_error", message: "CONNACK: reason code 1" },
    ]);
  });
});

describe("Encoder", () => {
  test("grows by doubling from a small buffer and returns a view of its own buffer", () => {
    const encoder = new Encoder(8, 1 << 20);
    const payload = new Uint8Array(5000).fill(7);
    const out = encoder.encode({ type: 3, topic: "t", payload, qos: 0, retain: false, dup: false }, 4) as Uint8Array;
    expect(out.length).toBe(1 + 2 + 3 + 5000);
    expect(out.byteOffset).toBe(2);
    expect(out.buffer.byteLength).toBeGreaterThanOrEqual(5008);
    const small = encoder.encode({ type: 12 }, 4) as Uint8Array;
    expect(toHex(small)).toBe("c000");
    expect(small.buffer).toBe(out.buffer);
  });

  test("a PUBLISH to the last topic reuses its bytes, also after other packets and other topics in between", () => {
    const encoder = new Encoder(8, 1 << 20);
    const fresh = (packet: Packet) => toHex(new Encoder(8, 1 << 20).encode(packet, 5) as Uint8Array);
    const publish = (topic: string, qos: 0 | 1, payload: string): Publish => ({
      type: PUBLISH,
      topic,
      payload: new TextEncoder().encode(payload),
      qos,
      retain: false,
      dup: false,
      ...(qos ? { packetId: 7 } : {}),
    });
    const sequence: Packet[] = [
      publish("a/é/topic", 0, "one"),
      publish("a/é/topic", 1, "two"),
      { type: 4, packetId: 9, reasonCode: 0 },
      publish("a/é/topic", 0, "three"),
      publish("b", 0, "four"),
      publish("a/é/topic", 0, "five"),
      { ...publish("", 0, "six"), properties: { topicAlias: 1 } },
      publish("a/é/topic", 0, "seven"),
    ];
    for (const packet of sequence) expect(toHex(encoder.encode(packet, 5) as Uint8Array)).toBe(fresh(packet));
    // A topic refused once is refused again, though it is the last one.
    for (let i = 0; i < 2; i++)
      expect((encoder.encode(publish("a/+", 0, "x"), 5) as CodecError).code).toBe("bad_topic");
  });

  test("the maximum packet size counts the fixed header", () => {
    // topic "t" + 11 bytes of payload: 14 bytes of body, 16 with the fixed header.
    const packet: Packet = { type: 3, topic: "t", payload: new Uint8Array(11), qos: 0, retain: false, dup: false };
    expect(new Encoder(8, 16).encode(packet, 4)).toBeInstanceOf(Uint8Array);
    expect((new Encoder(8, 15).encode(packet, 4) as CodecError).code).toBe("packet_too_large");
  });

  test("a long string near the limit is measured exactly, not by its worst case", () => {
    const topic = "a".repeat(1000);
    const packet: Packet = { type: 3, topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false };
    expect(new Encoder(8, 1005).encode(packet, 4)).toBeInstanceOf(Uint8Array);
  });

  test("strings and binaries over 65535 bytes are refused", () => {
    const encoder = new Encoder(8, 1 << 20);
    const long = "a".repeat(65536);
    expect((encoder.encode({ type: 10, packetId: 1, topicFilters: [long] }, 4) as CodecError).code).toBe("bad_topic");
    expect(
      (encoder.encode({ type: 1, protocolVersion: 4, clientId: long, cleanStart: true, keepAlive: 0 }, 4) as CodecError)
        .code,
    ).toBe("malformed_packet");
    const will = { topic: "w", payload: new Uint8Array(65536), qos: 0 as const, retain: false };
    expect(
      (
        encoder.encode(
          { type: 1, protocolVersion: 4, clientId: "", cleanStart: true, keepAlive: 0, will },
          4,
        ) as CodecError
      ).code,
    ).toBe("malformed_packet");
  });

  test("an empty properties object is no properties", () => {
    const encoder = new Encoder(8, 1024);
    expect(toHex(encoder.encode({ type: 4, packetId: 1, reasonCode: 0, properties: {} }, 5) as Uint8Array)).toBe(
      "40020001",
    );
    expect(
      toHex(encoder.encode({ type: 14, reasonCode: 0, properties: { reasonString: undefined } }, 4) as Uint8Array),
    ).toBe("e000");
  });

  test("recovers after an error", () => {
    const encoder = new Encoder(8, 1024);
    expect(encoder.encode({ type: 4, packetId: 0, reasonCode: 0 }, 4)).toBeInstanceOf(CodecError);
    expect(toHex(encoder.encode({ type: 4, packetId: 1, reasonCode: 0 }, 4) as Uint8Array)).toBe("40020001");
  });
});

describe("properties table", () => {
  test("names every property of the Properties type once, with unique identifiers", () => {
    // A Record over keyof Properties: a property added to packets.ts without a table entry fails to compile here.
    const names: Record<keyof Properties, true> = {
      payloadFormatIndicator: true,
      messageExpiryInterval: true,
      contentType: true,
      responseTopic: true,
      correlationData: true,
      subscriptionIdentifier: true,
      sessionExpiryInterval: true,
      assignedClientIdentifier: true,
      serverKeepAlive: true,
      authenticationMethod: true,
      authenticationData: true,
      requestProblemInformation: true,
      willDelayInterval: true,
      requestResponseInformation: true,
      responseInformation: true,
      serverReference: true,
      reasonString: true,
      receiveMaximum: true,
      topicAliasMaximum: true,
      topicAlias: true,
      maximumQoS: true,
      retainAvailable: true,
      userProperties: true,
      maximumPacketSize: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    };
    expect(PROPERTIES.map((p) => p.name).sort()).toEqual(Object.keys(names).sort());
    expect(new Set(PROPERTIES.map((p) => p.id)).size).toBe(PROPERTIES.length);
    for (const p of PROPERTIES) {
      expect(propertyById(p.id)).toBe(p);
      expect(propertyByName(p.name)).toBe(p);
    }
    expect(propertyById(0x05)).toBeUndefined();
    expect(propertyByName("toString")).toBeUndefined();
  });
});

describe("reason codes", () => {
  test("names", () => {
    expect(reasonName(0x87, 2, 5)).toBe("Not authorized");
    expect(reasonName(5, 2, 4)).toBe("Connection Refused, not authorized");
    expect(reasonName(0, 14, 5)).toBe("Normal disconnection");
    expect(reasonName(0, 9, 5)).toBe("Granted QoS 0");
    expect(reasonName(0x80, 9, 4)).toBe("Failure");
    expect(reasonName(0x80, 9, 5)).toBe("Unspecified error");
    expect(reasonName(0x10, 4, 5)).toBe("No matching subscribers");
    expect(reasonName(0xa2, 9, 5)).toBe("Wildcard Subscriptions not supported");
    expect(reasonName(0x03, 4, 5)).toBe("Unknown reason 0x03");
    expect(reasonName(0x87, 2, 4)).toBe("Unknown reason 0x87");
  });

  test("43 codes in 5.0, each allowed where spec 2.4 says", () => {
    const known = [];
    for (let code = 0; code < 256; code++) {
      let packets = 0;
      for (let type = 1; type <= 15; type++) if (validReason(code, type, 5)) packets |= 1 << type;
      if (packets) known.push(code);
    }
    expect(known).toHaveLength(43);
    expect(validReason(0x92, 6, 5)).toBe(true);
    expect(validReason(0x92, 4, 5)).toBe(false);
    expect(validReason(0x04, 14, 5)).toBe(true);
    expect(validReason(0x11, 11, 5)).toBe(true);
    expect(validReason(0x11, 9, 5)).toBe(false);
    expect(validReason(0x80, 9, 4)).toBe(true);
    expect(validReason(0x80, 4, 4)).toBe(false);
  });
});

describe("utf8", () => {
  test("lengths and encodings", () => {
    const buf = new Uint8Array(16);
    for (const [s, hex] of [
      ["a", "61"],
      ["é", "c3a9"],
      ["日", "e697a5"],
      ["😀", "f09f9880"],
      ["\u{10fffd}", "f48fbfbd"],
      ["~\u00a0\u07ff\u0800\ufffd", "7ec2a0dfbfe0a080efbfbd"],
    ]) {
      const end = writeUtf8(s, buf, 1);
      expect(toHex(buf.subarray(1, end))).toBe(hex);
      expect(utf8Length(s)).toBe(hex.length / 2);
      expect(readUtf8(buf, 1, end)).toBe(s);
    }
  });

  test("refuses lone surrogates and U+0000", () => {
    const buf = new Uint8Array(16);
    for (const s of ["\ud800", "a\udc00", "\ud800a", "\udc00\ud800", "a\u0000"]) {
      expect(writeUtf8(s, buf, 0)).toBe(-1);
      expect(utf8Length(s)).toBe(-1);
    }
  });

  test("refuses what brokers refuse: control characters and non-characters (mosquitto drops the connection)", () => {
    const buf = new Uint8Array(16);
    for (const s of ["t/a\u0001b", "\n", "\u001f", "\u007f", "\u0085", "\u009f", "\ufdd0", "\ufdef", "\ufffe"]) {
      expect(writeUtf8(s, buf, 0)).toBe(-1);
      expect(utf8Length(s)).toBe(-1);
      // As payload text they are ordinary characters.
      expect(utf8Length(s, true)).toBeGreaterThan(0);
    }
    for (const s of ["\uffff", "\u{1fffe}", "\u{10ffff}"]) expect(utf8Length(s)).toBe(-1);
    expect(badCharacter("ab\u0001")).toBe("a control character U+0001 at character 3");
    expect(badCharacter("😀\uffff")).toBe("a non-character U+FFFF at character 2");
    expect(badCharacter("a\ud800")).toBe("a lone surrogate U+D800 at character 2");
    expect(badCharacter("a\u00a0\ufffd")).toBeUndefined();
    // What a broker delivers is read as the spec allows: refusing it would have it delivered again.
    expect(readUtf8(Uint8Array.of(0x61, 0x01), 0, 2)).toBe("a\u0001");
  });

  test("decodes long strings in pieces", () => {
    const s = "é".repeat(5000) + "a".repeat(9000);
    const buf = new Uint8Array(utf8Length(s));
    expect(writeUtf8(s, buf, 0)).toBe(buf.length);
    expect(readUtf8(buf, 0, buf.length)).toBe(s);
    expect(readUtf8(buf, 10000, buf.length)).toBe("a".repeat(9000));
  });
});
