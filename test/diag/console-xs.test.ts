// Console parsing and quoting in XS take time linear in the text's length. XS keeps strings as UTF-8 and finds
// `s[i]` by scanning from the start, so the loops that indexed lines and added one character at a time took 15 s
// for a 100 KB line (a remote command can be that long), and seconds to log a 64 KB topic.
import { startXs, type XsEntry } from "../helpers/xs";
import run from "./fixtures/console-xs";

let xs: XsEntry;
beforeAll(async () => {
  xs = await startXs("test/diag/fixtures/console-xs.ts");
});
afterAll(async () => {
  await xs?.close();
});

test("a 100 KB line with escapes and a 64 KB value are handled in well under a second", async () => {
  const payload = `${"é".repeat(50000)}\\x00\\u00e9"${" a".repeat(10)}"${"b".repeat(50000)}`;
  const input = { line: `pub t/x ${payload} 1`, value: `${"é\n".repeat(32000)}=` };
  type Result = ReturnType<typeof run>;
  const inXs = await xs.call<Result>(input);
  const inNode = run(input);
  expect({ ...inXs, tokenizeMs: 0, quoteMs: 0 }).toEqual({ ...inNode, tokenizeMs: 0, quoteMs: 0 });
  expect(inNode.lengths).toEqual([3, 3, 50000 + 2 + 20 + 50000, 1]);
  expect(inNode.head[2]).toBe("é".repeat(8));
  expect(inNode.quotedTail).toBe('né\\né\\né\\n="');
  // Linear: a few ms on a desktop; the quadratic loops took seconds.
  expect(inXs.tokenizeMs).toBeLessThan(1000);
  expect(inXs.quoteMs).toBeLessThan(1000);
});
