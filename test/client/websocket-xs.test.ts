// The WebSocket layer in the engine of the device: SHA-1, base64, the accept value and a whole exchange give the
// same results in XS (xsnap) as in Node, and those results are right (checked against Node's crypto).
import { createHash, randomBytes } from "node:crypto";
import { startXs } from "../helpers/xs";
import run, { type Input } from "./fixtures/websocket-xs";

test("XS gives the same SHA-1, accept values and frames as Node, and the right ones", async () => {
  const messages = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000].map((n) => randomBytes(n).toString("hex"));
  const big = "ab".repeat(70_000);
  const input: Input = {
    messages,
    keys: ["dGhlIHNhbXBsZSBub25jZQ==", randomBytes(16).toString("base64")],
    // A frame with a 64-bit length split over reads, a ping, a fragmented message, then a close with a reason.
    reads: [
      `827f0000000000011170${big.slice(0, 100)}`,
      big.slice(100),
      "89026869",
      "0201aa",
      "800155",
      "880503e8627965",
    ],
    writes: ["c000", "ab".repeat(300)],
  };
  const inNode = run(input);
  const xs = await startXs("test/client/fixtures/websocket-xs.ts");
  try {
    expect(await xs.call(input)).toEqual(JSON.parse(JSON.stringify(inNode)));
  } finally {
    await xs.close();
  }
  expect(inNode.sha1).toEqual(messages.map((m) => createHash("sha1").update(Buffer.from(m, "hex")).digest("hex")));
  expect(inNode.base64).toEqual(messages.map((m) => Buffer.from(m, "hex").toString("base64")));
  expect(inNode.accepts[0]).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  expect(inNode.request).toMatch(/^GET \/mqtt HTTP\/1\.1\r\nHost: 127\.0\.0\.1:8080\r\n/);
  expect(inNode.data === `${big}aa55`).toBe(true);
  // The pong, then the answer to the close: both masked; the writes came after the close, so none went out.
  expect(inNode.sent.map((hex) => hex.slice(0, 4))).toEqual(["8a82", "8882"]);
  expect(inNode.ends).toEqual([{ code: "closed", detail: "close_1000: bye" }]);
});
