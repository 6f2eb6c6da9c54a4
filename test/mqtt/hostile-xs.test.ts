// The decoder and the UTF-8 code inside the engine of the device, at the protocol's limits: XS's stack is far
// smaller than Node's, so what passes in Node can halt a device (String.fromCharCode.apply over a 4 KB topic did).
// Packets are written by mqtt-packet (an independent implementation), as a hostile or careless broker could send
// them; XS must give exactly Node's answers, and those must be right.
import fc from "fast-check";
import { generate, type Packet as WirePacket } from "mqtt-packet";
import { startXs, type XsEntry } from "../helpers/xs";
import { mutated, noise, versionedPacket } from "./arbitraries";
import run, { type Input, type Stream } from "./fixtures/hostile-xs";
import { packetToJson, toHex } from "./vectors";

const MAX = 1 << 20;
const LONG_ASCII = "a".repeat(65535);
/** 65,535 bytes of two-byte characters and one ASCII: the longest topic, most of it not ASCII. */
const LONG_UTF8 = `${"é".repeat(32767)}a`;

function wire(packet: object, version: 4 | 5): string {
  return generate(packet as WirePacket, { protocolVersion: version }).toString("hex");
}

let xs: XsEntry;
beforeAll(async () => {
  xs = await startXs("test/mqtt/fixtures/hostile-xs.ts");
});
afterAll(async () => {
  await xs?.close();
});

/** Runs `input` in XS and in Node and checks that they agree; returns Node's answer. */
async function bothEngines(input: Input): Promise<ReturnType<typeof run>> {
  const inNode = JSON.parse(JSON.stringify(run(input)));
  expect(await xs.call(input)).toEqual(inNode);
  return inNode;
}

test("fields up to the protocol's limits decode in XS as in Node", async () => {
  const publish = (topic: string, version: 4 | 5, properties?: object) =>
    wire({ cmd: "publish", topic, payload: Buffer.alloc(5000, 0x78), qos: 1, messageId: 7, properties }, version);
  const streams: Stream[] = [
    { version: 4, max: MAX, hex: publish(LONG_ASCII, 4) },
    { version: 4, max: MAX, hex: publish(LONG_UTF8, 4) },
    { version: 5, max: MAX, hex: publish("t", 5, { userProperties: { ["k".repeat(30000)]: "é".repeat(16000) } }) },
    {
      version: 5,
      max: MAX,
      hex: publish("t", 5, {
        userProperties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, "v"])),
      }),
    },
    {
      version: 5,
      max: MAX,
      hex: wire({ cmd: "connack", reasonCode: 0x87, properties: { reasonString: LONG_UTF8 } }, 5),
    },
    {
      version: 5,
      max: MAX,
      hex: wire({ cmd: "disconnect", reasonCode: 0x9d, properties: { serverReference: LONG_ASCII } }, 5),
    },
    { version: 4, max: MAX, hex: wire({ cmd: "suback", messageId: 1, granted: new Array(60000).fill(1) }, 4) },
    // The same long topic with its last byte made invalid UTF-8, and one over the packet limit.
    { version: 4, max: MAX, hex: publish(LONG_UTF8, 4).replace(/610007/, "ff0007") },
    { version: 4, max: 16384, hex: publish(LONG_ASCII, 4) },
    // A broker announcing a 10 MB PUBLISH (remaining length 0x80 0xad 0xe2 0x04): in 3.1.1 skipped as it streams
    // (nothing buffered, nothing decoded yet), in 5.0 (where we announce our maximum) an error; and a topic length
    // running past the end of its packet.
    { version: 4, max: 16384, hex: `3080ade204${"78".repeat(1000)}` },
    { version: 5, max: 16384, hex: `3080ade204${"78".repeat(1000)}` },
    { version: 5, max: MAX, hex: `3206ffff61620001` },
  ];
  const out = await bothEngines({ streams, packets: [], texts: [], utf8: [] });
  const [ascii, utf8, bigProperty, manyProperties, connack, disconnect, suback, bad, tooLarge, skipped, huge, overrun] =
    out.decoded as {
      [key: string]: unknown;
    }[][];
  expect(ascii[0]).toMatchObject({ topic: LONG_ASCII, packetId: 7 });
  expect(utf8[0]).toMatchObject({ topic: LONG_UTF8 });
  expect(bigProperty[0]).toMatchObject({
    properties: { userProperties: [["k".repeat(30000), "é".repeat(16000)]] },
  });
  expect((manyProperties[0] as { properties: { userProperties: unknown[] } }).properties.userProperties).toHaveLength(
    3000,
  );
  expect(connack[0]).toMatchObject({ reasonCode: 0x87, properties: { reasonString: LONG_UTF8 } });
  expect(disconnect[0]).toMatchObject({ reasonCode: 0x9d, properties: { serverReference: LONG_ASCII } });
  expect((suback[0] as { reasonCodes: number[] }).reasonCodes).toHaveLength(60000);
  expect(bad).toEqual([{ error: "bad_utf8" }]);
  expect(tooLarge).toEqual([{ error: "packet_too_large" }]);
  expect(skipped).toEqual([]);
  expect(huge).toEqual([{ error: "packet_too_large" }]);
  expect(overrun).toEqual([{ error: "malformed_packet" }]);
});

test("the longest strings encode in XS as in Node", async () => {
  const packets = [
    {
      version: 4 as const,
      packet: packetToJson({
        type: 3,
        topic: LONG_UTF8,
        payload: new Uint8Array(3),
        qos: 0,
        dup: false,
        retain: false,
      }),
    },
    {
      version: 4 as const,
      packet: packetToJson({
        type: 3,
        topic: `${LONG_ASCII}a`,
        payload: new Uint8Array(0),
        qos: 0,
        dup: false,
        retain: false,
      }),
    },
  ];
  const out = await bothEngines({ streams: [], packets, texts: [], utf8: [] });
  expect(out.encoded[0]).toBe(wire({ cmd: "publish", topic: LONG_UTF8, payload: Buffer.alloc(3), qos: 0 }, 4));
  expect(out.encoded[1]).toEqual({ error: expect.any(String) });
});

test("payload text: U+0000 is a character, a lone surrogate becomes U+FFFD, long text reads back", async () => {
  const texts = ["x\ud800", "\udc00y", "a\u0000b", "😀", "é".repeat(70000)];
  const utf8 = [
    toHex(Buffer.alloc(5000, 0x61)),
    toHex(Buffer.from(LONG_UTF8)),
    "610062",
    "c0af", // overlong
    "eda080", // an encoded surrogate
    toHex(Buffer.from(`${"😀".repeat(20000)}é`)),
  ];
  const out = await bothEngines({ streams: [], packets: [], texts, utf8 });
  expect(out.texts.map((t) => t.mqtt)).toEqual([-1, -1, -1, 4, 140000]);
  expect(out.texts.map((t) => t.payload).slice(0, 4)).toEqual(["78efbfbd", "efbfbd79", "610062", "f09f9880"]);
  expect(out.texts[4].payload).toBe(Buffer.from("é".repeat(70000)).toString("hex"));
  expect(out.utf8).toEqual([
    { mqtt: "a".repeat(5000), payload: "a".repeat(5000) },
    { mqtt: LONG_UTF8, payload: LONG_UTF8 },
    { mqtt: null, payload: "a\u0000b" },
    { mqtt: null, payload: null },
    { mqtt: null, payload: null },
    { mqtt: `${"😀".repeat(20000)}é`, payload: `${"😀".repeat(20000)}é` },
  ]);
});

test("fuzzed byte streams and valid packets give the same packets or errors in XS as in Node", async () => {
  const broken = fc.sample(fc.oneof(mutated, noise), { numRuns: 3000, seed: 11 });
  const valid = fc.sample(versionedPacket, { numRuns: 1000, seed: 12 });
  const streams: Stream[] = [
    ...broken.map(({ version, bytes }) => ({ version, max: 4096, hex: toHex(bytes) })),
    ...valid.map(({ version, packet }) => ({
      version,
      max: MAX,
      hex: run({ streams: [], packets: [{ version, packet: packetToJson(packet) }], texts: [], utf8: [] })
        .encoded[0] as string,
    })),
  ];
  const out = await bothEngines({ streams, packets: [], texts: [], utf8: [] });
  // Valid packets come back whole; the fuzzed bytes give errors as well as packets (the test is not vacuous).
  for (const [i, { packet }] of valid.entries()) expect(out.decoded[broken.length + i]).toEqual([packetToJson(packet)]);
  const errors = out.decoded.slice(0, broken.length).filter((d) => d.some((p) => "error" in (p as object)));
  expect(errors.length).toBeGreaterThan(500);
  expect(errors.length).toBeLessThan(broken.length);
});

test("a 64 KB topic filter full of wildcards is checked in linear time in XS", async () => {
  const subscribe = (f: string) => wire({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: f, qos: 0 }] }, 4);
  const inputOf = (filter: string) => {
    const streams: Stream[] = [
      { version: 4, max: MAX, hex: subscribe(filter) },
      { version: 4, max: MAX, hex: subscribe(`${filter}/x`) },
    ];
    return { streams, packets: [], texts: [], utf8: [] };
  };
  // xsnap's meter counts the engine's steps, the same on any machine however busy: a quarter of the filter, then
  // all of it. Linear: about 4 times the steps; indexing the filter character by character (8 s here) gave 16.
  const steps: number[] = [];
  for (const pairs of [8191, 32766]) {
    await xs.call(inputOf(`${"+/".repeat(pairs)}#`));
    steps.push(xs.meter!.compute);
  }
  expect(steps[1]! / steps[0]!).toBeLessThan(6);
  const filter = `${"+/".repeat(32766)}#`;
  const input = inputOf(filter);
  const out = await bothEngines(input);
  expect(out.decoded[0][0]).toMatchObject({ subscriptions: [{ topicFilter: filter }] });
  expect(out.decoded[1]).toEqual([{ error: "bad_topic" }]);
});
