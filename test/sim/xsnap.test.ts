// The xsnap-worker driver against the real worker: evaluation, commands, nested requests, queueing, large messages
// that arrive in many pieces, errors, and a killed worker.

import { XsError, Xsnap } from "../../hosts/sim/node/xsnap";

const workers: Xsnap[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) worker.kill();
});

function start(onRequest?: (request: Uint8Array) => Uint8Array): Xsnap {
  const worker = new Xsnap({ onRequest });
  workers.push(worker);
  return worker;
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

test("evaluate returns the bytes of an ArrayBuffer result and the meter", async () => {
  const worker = start();
  const reply = await worker.evaluate("new Uint8Array([1, 2, 255]).buffer");
  expect([...reply]).toEqual([1, 2, 255]);
  expect(await worker.evaluate("1 + 1")).toHaveLength(0);
  expect(worker.meter?.currentHeapCount).toBeGreaterThan(0);
  expect(worker.meter?.allocate).toBeGreaterThan(0);
});

test("a command may issue many requests before it answers", async () => {
  const seen: number[] = [];
  const worker = start((request) => {
    seen.push(request[0]);
    return Uint8Array.of(request[0] * 2);
  });
  await worker.evaluate(`globalThis.handleCommand = (buffer) => {
    const input = new Uint8Array(buffer);
    const out = [];
    for (const byte of input) out.push(new Uint8Array(issueCommand(Uint8Array.of(byte).buffer))[0]);
    return Uint8Array.from(out).buffer;
  }`);
  const reply = await worker.command(Uint8Array.of(1, 2, 3, 100));
  expect([...reply]).toEqual([2, 4, 6, 200]);
  expect(seen).toEqual([1, 2, 3, 100]);
});

test("commands sent together run one at a time, in order", async () => {
  const worker = start((request) => request);
  await worker.evaluate(`let calls = 0; globalThis.handleCommand = (buffer) => {
    const echoed = new Uint8Array(issueCommand(buffer));
    return new TextEncoder().encode(++calls + ":" + echoed[0]).buffer;
  }`);
  const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => worker.command(Uint8Array.of(n))));
  expect(replies.map(text)).toEqual(["1:1", "2:2", "3:3", "4:4", "5:5"]);
});

test("megabyte messages cross both ways intact, whatever the pipe splits them into", async () => {
  const size = 1 << 20;
  let requested = 0;
  const worker = start((request) => {
    requested = request.length;
    return request.subarray(0, 16);
  });
  await worker.evaluate(`globalThis.handleCommand = (buffer) => {
    issueCommand(buffer);
    const out = new Uint8Array(buffer.byteLength);
    const input = new Uint8Array(buffer);
    for (let i = 0; i < out.length; i++) out[i] = input[i] ^ 0xff;
    return out.buffer;
  }`);
  const input = new Uint8Array(size);
  for (let i = 0; i < size; i++) input[i] = (i * 31) & 255;
  const reply = await worker.command(input);
  expect(requested).toBe(size);
  expect(reply.length).toBe(size);
  expect(reply.every((byte, i) => byte === (input[i] ^ 0xff))).toBe(true);
});

test("an exception rejects with XS's message and the worker carries on", async () => {
  const worker = start();
  await expect(worker.evaluate('throw new TypeError("bad thing")')).rejects.toThrow(XsError);
  await expect(worker.evaluate('throw new TypeError("bad thing")')).rejects.toThrow("TypeError: bad thing");
  expect([...(await worker.evaluate("Uint8Array.of(7).buffer"))]).toEqual([7]);
});

test("kill stops the worker at once and fails what was pending", async () => {
  const worker = start(() => new Uint8Array(0));
  await worker.evaluate("globalThis.handleCommand = () => { for (;;) {} }");
  const stuck = worker.command(Uint8Array.of(1));
  const queued = worker.command(Uint8Array.of(2));
  worker.kill();
  await expect(stuck).rejects.toThrow(/exited/);
  await expect(queued).rejects.toThrow(/exited/);
  expect(await worker.exited).toEqual({ code: null, signal: "SIGKILL" });
  expect(worker.running).toBe(false);
  await expect(worker.evaluate("1")).rejects.toThrow(/not running/);
});

test("close lets the worker exit cleanly", async () => {
  const worker = start();
  await worker.evaluate("1");
  worker.close();
  expect(await worker.exited).toEqual({ code: 0, signal: null });
});
