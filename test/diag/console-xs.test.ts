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

test("a 100 KB line with escapes and a 64 KB value are handled in linear time", async () => {
  const payload = (n: number) => `${"é".repeat(n)}\\x00\\u00e9"${" a".repeat(10)}"${"b".repeat(n)}`;
  const line = (n: number) => `pub t/x ${payload(n)} 1`;
  const value = (n: number) => `${"é\n".repeat(n)}=`;
  const input = { line: line(50000), value: value(32000) };
  type Result = ReturnType<typeof run>;
  const inXs = await xs.call<Result>(input);
  const inNode = run(input);
  expect(inXs).toEqual(inNode);
  expect(inNode.lengths).toEqual([3, 3, 50000 + 2 + 20 + 50000, 1]);
  expect(inNode.head[2]).toBe("é".repeat(8));
  expect(inNode.quotedTail).toBe('né\\né\\né\\n="');
  // xsnap's meter counts the engine's steps, the same on any machine however busy: a quarter of the text, then all
  // of it. Linear: about 4 times the steps; the quadratic loops (seconds for these) gave 16.
  const steps = async (of: (n: number) => { line?: string; value?: string }, n: number) => {
    await xs.call(of(n / 4));
    const quarter = xs.meter!.compute;
    await xs.call(of(n));
    return xs.meter!.compute / quarter;
  };
  expect(await steps((n) => ({ line: line(n) }), 50000)).toBeLessThan(6);
  expect(await steps((n) => ({ value: value(n) }), 32000)).toBeLessThan(6);
});
