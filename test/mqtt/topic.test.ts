import fc from "fast-check";
import { topicMatches, validTopicFilter, validTopicName } from "tether/mqtt/topic";
import { topicFilter, topicName } from "./arbitraries";

test.each([
  ["a", true],
  ["a/b/c", true],
  ["/", true],
  ["//", true],
  ["/a", true],
  ["$SYS/broker", true],
  ["café/日本/😀", true],
  [" ", true],
  ["x".repeat(65535), true],
  ["é".repeat(32767), true],
  ["", false],
  ["a/+", false],
  ["a/#", false],
  ["+", false],
  ["a+b", false],
  ["a#", false],
  ["a\u0000b", false],
  ["a\ud800", false],
  ["x".repeat(65536), false],
  ["é".repeat(32768), false],
])("validTopicName(%j) is %s", (name, valid) => {
  expect(validTopicName(name)).toBe(valid);
});

test.each([
  ["a", true],
  ["a/b", true],
  ["#", true],
  ["+", true],
  ["+/+", true],
  ["/+", true],
  ["+/", true],
  ["a/#", true],
  ["a/+/b", true],
  ["+/tennis/#", true],
  ["/#", true],
  ["$SYS/#", true],
  ["$share/group/a/+", true],
  ["$share/group/#", true],
  ["$share", true],
  ["$shared/a", true],
  ["", false],
  ["a#", false],
  ["a/#/b", false],
  ["#/", false],
  ["##", false],
  ["a+", false],
  ["+a", false],
  ["a/+b/c", false],
  ["sport+", false],
  ["a\u0000", false],
  ["\udc00", false],
  ["$share/", false],
  ["$share/g", false],
  ["$share/g/", false],
  ["$share//a", false],
  ["$share/+/a", false],
  ["$share/#", false],
  ["$share/g+/a", false],
  ["x".repeat(65536), false],
])("validTopicFilter(%j) is %s", (filter, valid) => {
  expect(validTopicFilter(filter)).toBe(valid);
});

test.each([
  // Spec 4.7.1.2 and 4.7.1.3 examples.
  ["sport/tennis/player1/#", "sport/tennis/player1", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
  ["sport/#", "sport", true],
  ["sport/tennis/+", "sport/tennis/player1", true],
  ["sport/tennis/+", "sport/tennis/player1/ranking", false],
  ["sport/+", "sport", false],
  ["sport/+", "sport/", true],
  ["+/+", "/finance", true],
  ["/+", "/finance", true],
  ["+", "/finance", false],
  ["#", "a/b/c", true],
  ["#", "/", true],
  ["+", "", true],
  // Spec 4.7.2: wildcards at the first level do not match $ topics.
  ["#", "$SYS/monitor/Clients", false],
  ["+/monitor/Clients", "$SYS/monitor/Clients", false],
  ["$SYS/#", "$SYS/monitor/Clients", true],
  ["$SYS/monitor/+", "$SYS/monitor/Clients", true],
  ["a/#", "a/$b", true],
  // Plain levels.
  ["a/b", "a/b", true],
  ["a/b", "a/bc", false],
  ["a/bc", "a/b", false],
  ["a/b", "a", false],
  ["a", "a/b", false],
  ["a/b", "a/b/", false],
  ["a//b", "a//b", true],
  ["a/+/b", "a//b", true],
  ["A", "a", false],
  ["a/+/#", "a/b", true],
  ["a/+/#", "a", false],
  // Shared subscriptions match as their topic filter.
  ["$share/g/a/+", "a/b", true],
  ["$share/g/#", "$SYS/x", false],
  ["$share/g/a", "g/a", false],
])("topicMatches(%j, %j) is %s", (filter, name, matches) => {
  expect(topicMatches(filter, name)).toBe(matches);
});

test("generated names and filters are valid, and a name matches itself and #", () => {
  fc.assert(
    fc.property(topicName, topicFilter, (name, filter) => {
      expect(validTopicName(name)).toBe(true);
      expect(validTopicFilter(name)).toBe(true);
      expect(validTopicFilter(filter)).toBe(true);
      expect(topicMatches(name, name)).toBe(true);
      expect(topicMatches("#", name)).toBe(!name.startsWith("$"));
    }),
    { numRuns: 500 },
  );
});

/** A reference matcher written the obvious way (split into levels), to check the index arithmetic against. */
function reference(filter: string, name: string): boolean {
  const f = filter.split("/");
  const n = name.split("/");
  if (name.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= n.length) return false;
    if (f[i] !== "+" && f[i] !== n[i]) return false;
  }
  return f.length === n.length;
}

test("topicMatches agrees with a level-splitting reference", () => {
  // Few distinct levels so that matches are common.
  const level = fc.constantFrom("a", "b", "", "$x");
  const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join("/"));
  const filter = fc
    .tuple(fc.array(fc.oneof(level, fc.constant("+")), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l, "#"] : l).join("/"));
  let matched = 0;
  fc.assert(
    fc.property(filter, name, (f, n) => {
      const expected = reference(f, n);
      if (expected) matched++;
      expect(topicMatches(f, n)).toBe(expected);
    }),
    { numRuns: 2000 },
  );
  expect(matched).toBeGreaterThan(100);
});
