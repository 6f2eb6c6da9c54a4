import { HISTORY_BUDGET, History, MAX_CAPACITY, MAX_DETAIL, REWRITE, type Storage } from "tether/diag/history";

/** An in-memory key-value store that counts writes, standing in for Preference across "reboots". */
function memoryStorage() {
  const data = new Map<string, string>();
  let writes = 0;
  const storage: Storage = {
    readSetting: (key) => data.get(key),
    writeSetting(key, value) {
      writes++;
      if (value === undefined) data.delete(key);
      else data.set(key, value);
    },
  };
  return { data, storage, writes: () => writes };
}

test("records events oldest first and formats them", () => {
  const { storage } = memoryStorage();
  const history = new History(storage, 8);
  expect(history.boot).toBe(1);
  history.add(100, "boot");
  history.add(2500.9, "tcp_refused", "broker=mqtt://10.0.0.5:1883");
  expect(history.events().map((e) => [e.seq, e.boot, e.time, e.code, e.detail])).toEqual([
    [0, 1, 100, "boot", ""],
    [1, 1, 2500, "tcp_refused", "broker=mqtt://10.0.0.5:1883"],
  ]);
  expect(history.format()).toEqual([
    "history events=2 boot=1 (prev = before the last reboot)",
    "this b1 100 boot",
    "this b1 2500 tcp_refused broker=mqtt://10.0.0.5:1883",
  ]);
});

test("keeps the last N events, one storage write per event", () => {
  const { storage, writes } = memoryStorage();
  const history = new History(storage, 4);
  const before = writes();
  for (let i = 0; i < 10; i++) history.add(i, `e${i}`);
  expect(writes() - before).toBe(10);
  expect(history.events().map((e) => e.code)).toEqual(["e6", "e7", "e8", "e9"]);
});

test("survives a reboot, marks older boots, and continues the sequence", () => {
  const { storage } = memoryStorage();
  const first = new History(storage, 4);
  for (let i = 0; i < 6; i++) first.add(i * 1000, `e${i}`, `n=${i}`);
  const second = new History(storage, 4);
  expect(second.boot).toBe(2);
  second.add(50, "boot");
  expect(second.events().map((e) => `${e.boot}:${e.code}`)).toEqual(["1:e3", "1:e4", "1:e5", "2:boot"]);
  expect(second.format().slice(-2)).toEqual(["prev b1 5000 e5 n=5", "this b2 50 boot"]);
  const third = new History(storage, 4);
  expect(third.boot).toBe(3);
  expect(third.events().map((e) => e.seq)).toEqual([3, 4, 5, 6]);
});

test("caps details and codes, keeps them on one line, and ignores corrupt slots", () => {
  const { data, storage } = memoryStorage();
  const history = new History(storage, 4);
  history.add(1, "two words", `x\r\ny${"z".repeat(500)}`);
  const [event] = history.events();
  expect(event.code).toBe("two_words");
  expect(event.detail.startsWith("x y")).toBe(true);
  expect(event.detail.length).toBe(MAX_DETAIL);
  for (const value of data.values()) expect(value.length).toBeLessThan(200);
  data.set("hist.3", "garbage");
  expect(new History(storage, 4).events()).toHaveLength(1);
});

test("clear() forgets events in storage too", () => {
  const { data, storage } = memoryStorage();
  const history = new History(storage, 4);
  history.add(1, "a");
  history.add(2, "b");
  history.clear();
  expect(history.events()).toEqual([]);
  expect([...data.keys()]).toEqual(["hist.b"]);
  history.add(3, "c");
  expect(new History(storage, 4).events().map((e) => e.code)).toEqual(["c"]);
});

test("a different capacity after an update keeps the newest events", () => {
  const { storage } = memoryStorage();
  const big = new History(storage, 8);
  for (let i = 0; i < 8; i++) big.add(i, `e${i}`);
  const small = new History(storage, 4);
  expect(small.events().map((e) => e.code)).toEqual(["e4", "e5", "e6", "e7"]);
  small.add(9, "next");
  expect(small.events().map((e) => e.code)).toEqual(["e5", "e6", "e7", "next"]);
});

test("keys fit an ESP32 Preference key (15 characters)", () => {
  const { data, storage } = memoryStorage();
  const history = new History(storage);
  for (let i = 0; i < 70; i++) history.add(i, "x");
  for (const key of data.keys()) expect(key.length).toBeLessThanOrEqual(15);
});

test("a repeated event is one entry with its count and the uptime of its first and last copy", () => {
  const { data, storage, writes } = memoryStorage();
  const history = new History(storage, 8);
  history.add(100, "boot");
  const before = writes();
  // A wrong password retried twice a second for 16 s.
  for (let i = 0; i < 32; i++) history.add(2000 + i * 500, "bad_credentials", "user=dev");
  // One write for the first copy; the count waits in RAM (REWRITE has not passed).
  expect(writes() - before).toBe(1);
  expect(history.format()).toEqual([
    "history events=2 boot=1 (prev = before the last reboot)",
    "this b1 100 boot",
    "this b1 2000-17500 bad_credentials x32 user=dev",
  ]);
  // Another event stores the count first.
  history.add(18000, "connected", "rtt=5ms");
  expect(data.get("hist.1")).toBe("1 1 2000-17500x32 bad_credentials user=dev");
  // Read back after a reboot as printed.
  expect(new History(storage, 8).format().slice(2)).toEqual([
    "prev b1 2000-17500 bad_credentials x32 user=dev",
    "prev b1 18000 connected rtt=5ms",
  ]);
});

test("a loop that never stops costs one write per REWRITE, and tick() stores the count", () => {
  const { data, storage, writes } = memoryStorage();
  const history = new History(storage, 8);
  const before = writes();
  for (let t = 0; t < 10 * REWRITE; t += 250) history.add(t, "bad_credentials");
  expect(writes() - before).toBe(10);
  history.tick(10 * REWRITE + 1000);
  expect(data.get("hist.0")).toBe(`0 1 0-${10 * REWRITE - 250}x${10 * 4 * (REWRITE / 1000)} bad_credentials `);
});

test("new entries past the budget are counted, then stored as one held_back entry: older events stay", () => {
  const { storage } = memoryStorage();
  // No budget (0) for the events already there.
  const history = new History(storage, 64, "hist", 0);
  for (let i = 0; i < 40; i++) history.add(i, "old", `n=${i}`);
  // A new boot: the budget starts full.
  const second = new History(storage, 64);
  for (let i = 0; i < 70; i++) second.add(1000 + i, "packet_too_large", `bytes=${17000 + i}`);
  const events = second.events();
  const old = events.filter((e) => e.code === "old");
  // 40 old events, HISTORY_BUDGET new ones, and the count of the rest (not stored yet: the budget is spent).
  expect(old).toHaveLength(40);
  expect(events.filter((e) => e.code === "packet_too_large")).toHaveLength(HISTORY_BUDGET);
  expect(events.at(-1)).toMatchObject({ code: "held_back", count: 70 - HISTORY_BUDGET, time: 1000 + HISTORY_BUDGET });
  expect(second.figures()).toEqual({
    budget: HISTORY_BUDGET,
    written: HISTORY_BUDGET,
    repeats: 0,
    held: 70 - HISTORY_BUDGET,
  });
  // Once the budget has refilled a little, the count is stored as one entry.
  second.tick(1000 + 3600000 / HISTORY_BUDGET + 100);
  expect(new History(storage, 64).events().filter((e) => e.code === "held_back")).toMatchObject([
    { count: 70 - HISTORY_BUDGET },
  ]);
});

test("stored values that do not parse are named once, removed, and boot reads a bounded number of slots", () => {
  const { data, storage } = memoryStorage();
  const rejected: string[] = [];
  let reads = 0;
  const watched: Storage = {
    readSetting: (key) => {
      reads++;
      return storage.readSetting(key);
    },
    writeSetting: storage.writeSetting,
    rejected(key, why) {
      rejected.push(`${key}: ${why}`);
      storage.writeSetting(key, undefined);
    },
  };
  data.set("hist.b", "1 300000");
  data.set("hist.2", "garbage");
  data.set("hist.3", `5 1 7 ${"c".repeat(40)} too long a code`);
  data.set("hist.4", "4 1 9 connected rtt=1ms");
  const history = new History(watched, 64);
  expect(reads).toBeLessThanOrEqual(MAX_CAPACITY + 1);
  expect(rejected).toEqual([
    "hist.b: not <boot> <capacity> with a capacity of 1 to 256",
    "hist.2: not a history event",
    "hist.3: not a history event",
  ]);
  // The counter was lost: boots are counted on from the newest event kept (boot 1).
  expect(history.boot).toBe(2);
  expect(history.events().map((e) => e.code)).toEqual(["connected"]);
  expect(data.has("hist.2")).toBe(false);
  // A host whose read throws (a value that is not a string) is named the same way.
  const throwing: Storage = {
    readSetting: (key) => {
      if (key === "hist.1") throw new TypeError("not a string");
      return storage.readSetting(key);
    },
    writeSetting: storage.writeSetting,
    rejected: watched.rejected,
  };
  rejected.length = 0;
  expect(new History(throwing, 64).events().map((e) => e.code)).toEqual(["connected"]);
  expect(rejected).toContain("hist.1: not a string");
});
