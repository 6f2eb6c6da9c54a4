// The drop-in reads a payload in place and copies only what it keeps: a QoS 0 message that leaves at once is
// encoded during publish(), a message that waits (offline, or QoS 1 and 2 until acknowledged) is copied. The caller
// may reuse its buffer as soon as publish() returns, as with Moddable's module. A pure test: the Host is driven by
// hand (bench/xs/manual-host.ts), its socket records what the client writes.
import { bindClient } from "tether/compat/mqtt";
import { Decoder } from "tether/mqtt/codec";
import { PUBLISH, type Publish } from "tether/mqtt/packets";
import { ManualHost } from "../../bench/xs/manual-host";

function setUp() {
  const host = new ManualHost();
  const published: Publish[] = [];
  const decoder = new Decoder(4, 65536);
  host.onWrite = (bytes) => {
    decoder.push(bytes);
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
      if ("type" in p && p.type === PUBLISH) published.push({ ...p, payload: p.payload.slice() });
    }
  };
  const Client = bindClient(host);
  const client = new Client({ host: "broker.invalid", id: "payload-test", log: "none", clean: false });
  return { host, client, published };
}

const text = (p: Publish) => Buffer.from(p.payload).toString();

test("messages published while offline keep their bytes when the caller reuses its buffer", () => {
  const { host, client, published } = setUp();
  const buffer = new Uint8Array(5);
  for (const [qos, word] of [
    [0, "zero_"],
    [1, "one__"],
    [2, "two__"],
  ] as const) {
    buffer.set(Buffer.from(word));
    client.publish(`t/${qos}`, buffer.buffer, { quality: qos });
  }
  buffer.fill(0x21);
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 0, 0)); // CONNACK, accepted
  expect(published.map(text)).toEqual(["zero_", "one__", "two__"]);
});

test("once connected, QoS 0 goes out during publish() and QoS 1 keeps its own copy until acknowledged", () => {
  const { host, client, published } = setUp();
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 0, 0));
  const buffer = new Uint8Array(Buffer.from("first"));
  client.publish("t/0", buffer, { quality: 0 });
  expect(published.map(text)).toEqual(["first"]);
  buffer.set(Buffer.from("later"));
  client.publish("t/1", buffer, { quality: 1 });
  buffer.fill(0x21);
  expect(client.inflight).toBe(1);
  // The connection drops before the PUBACK: the message is sent again, with the bytes it was published with.
  host.feed(Uint8Array.of(0xe0, 0)); // a DISCONNECT from the broker (not allowed in 3.1.1): the connection ends
  host.advance(120_000);
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 1, 0)); // CONNACK, session present
  // The broker closed the last connection right after the message: it waits for an answer to a PINGREQ first (a
  // broker that closes the connection on it again gets it quarantined, see Session.quarantine).
  expect(published.map(text)).toEqual(["first", "later"]);
  host.feed(Uint8Array.of(0xd0, 0)); // PINGRESP
  expect(published.map(text)).toEqual(["first", "later", "later"]);
  expect(published[2].dup).toBe(true);
});

test("a QoS 0 message published while the session holds everything back keeps its bytes", () => {
  const { host, client, published } = setUp();
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 0, 0));
  client.publish("t/1", "sent", { quality: 1 });
  // The broker ends the connection right after the message: the next one waits for a PINGRESP before anything leaves.
  host.feed(Uint8Array.of(0xe0, 0));
  host.advance(120_000);
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 1, 0)); // CONNACK, session present
  const buffer = new Uint8Array(Buffer.from("held_"));
  client.publish("t/0", buffer, { quality: 0 });
  buffer.fill(0x21);
  expect(client.queueDepth).toBe(1);
  for (let i = 0; i < 4 && client.queueDepth > 0; i++) host.feed(Uint8Array.of(0xd0, 0)); // PINGRESP
  expect(published.map(text)).toEqual(["sent", "sent", "held_"]);
});
