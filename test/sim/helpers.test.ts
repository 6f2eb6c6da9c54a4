// The test helpers that start real parts: an entry in XS, the embedded aedes broker, mosquitto.

import { connectAsync } from "mqtt";
import { startBroker } from "../../hosts/sim/node/broker";
import { until } from "../helpers/events";
import { mosquittoTest, startMosquitto } from "../helpers/mosquitto";
import { startXs, XsError } from "../helpers/xs";

test("startXs runs an entry in XS and exchanges JSON with it", async () => {
  const xs = await startXs("test/sim/fixtures/xs-entry.ts");
  try {
    expect(await xs.call({ numbers: [1, 2, 39] })).toEqual({ sum: 42, inXs: true });
    await expect(xs.call({ numbers: [], fail: true })).rejects.toThrow(XsError);
    expect(await xs.call({ numbers: [5] })).toEqual({ sum: 5, inXs: true });
    expect(xs.meter?.currentHeapCount).toBeGreaterThan(0);
  } finally {
    await xs.close();
  }
});

test("the embedded aedes broker carries a message, and stop closes its clients", async () => {
  const broker = await startBroker();
  try {
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const client = await connectAsync(broker.url, { reconnectPeriod: 0 });
    await client.subscribeAsync("sim/test");
    const received = new Promise<[string, Buffer]>((resolve) =>
      client.once("message", (topic, payload) => resolve([topic, payload])),
    );
    await client.publishAsync("sim/test", "hello");
    const [topic, payload] = await received;
    expect([topic, payload.toString()]).toEqual(["sim/test", "hello"]);
    const closed = new Promise<void>((resolve) => client.once("close", resolve));
    await broker.stop();
    await closed;
    await client.endAsync(true);
  } finally {
    await broker.kill();
  }
});

mosquittoTest("startMosquitto applies users: a wrong password is refused, the right one connects", async () => {
  const mosquitto = await startMosquitto({ users: { device: "s3cret" } });
  try {
    const options = { reconnectPeriod: 0, protocolVersion: 4 as const, username: "device" };
    await expect(connectAsync(mosquitto.url, { ...options, password: "wrong" })).rejects.toMatchObject({ code: 5 });
    const client = await connectAsync(mosquitto.url, { ...options, password: "s3cret" });
    expect(client.connected).toBe(true);
    await client.endAsync();
  } finally {
    await mosquitto.stop();
  }
});

mosquittoTest("a mosquitto's onLine gives every line, those logged before it was called included", async () => {
  const mosquitto = await startMosquitto();
  try {
    // A client that connects before anyone listens: its line may come in the chunk that said mosquitto was running.
    const client = await connectAsync(mosquitto.url, { reconnectPeriod: 0, clientId: "online-early" });
    await client.endAsync();
    const lines: string[] = [];
    mosquitto.onLine((line) => lines.push(line));
    const index = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    await until(() => index(/ as online-early /) >= 0, "the client's line");
    // In order, each whole: the start-up lines came before any listener was there (they were lost).
    expect(index(/: mosquitto version \S+ running$/)).toBeGreaterThanOrEqual(0);
    expect(index(/ running$/)).toBeLessThan(index(/ as online-early /));
    expect(lines.every((line) => /^\d+: /.test(line))).toBe(true);
  } finally {
    await mosquitto.stop();
  }
});
