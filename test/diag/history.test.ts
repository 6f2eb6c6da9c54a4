import { History, MAX_DETAIL, type Storage } from "tether/diag/history";

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
