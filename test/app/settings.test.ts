// Settings checked by their meaning (the layers and the checks are plain logic over a key-value store; the firmware
// tests in test/diagnostics/console.test.ts and test/supervisor/config.test.ts check the same through the device).
import { checkSetting, Settings } from "tether/app/settings";

function store(saved: Record<string, string> = {}) {
  const data = new Map(Object.entries(saved));
  return {
    data,
    readSetting: (key: string) => data.get(key),
    writeSetting: (key: string, value: string | undefined) => {
      if (value === undefined) data.delete(key);
      else data.set(key, value);
    },
  };
}

test("each value is checked by its meaning, and the error line names the setting and what is allowed", () => {
  expect(checkSetting("broker", "mqtt://a.example:1883,mqtts://b.example")).toBeUndefined();
  expect(checkSetting("broker", "junk://x")).toBe(
    'broker=junk://x: malformed broker URL "junk://x": expected mqtt://host:port, mqtts://host:port, ws://host:port/path or wss://host:port/path',
  );
  expect(checkSetting("clientId", "")).toBeUndefined();
  expect(checkSetting("clientId", "dev-é-1")).toBeUndefined();
  expect(checkSetting("clientId", "a".repeat(129))).toMatch(/must be at most 128 bytes/);
  expect(checkSetting("clientId", "a+b")).toMatch(/must be one topic level/);
  expect(checkSetting("clientId", "a\ud800")).toMatch(/must be one topic level/);
  expect(checkSetting("topicPrefix", "$share")).toBe("topicPrefix=$share: must not start with $");
  expect(checkSetting("remoteCommands", "")).toBeUndefined();
  expect(checkSetting("remoteCommands", "status, stats")).toBe(
    'remoteCommands="status, stats": must be command names separated by commas',
  );
  // A secret is never repeated in an error.
  expect(checkSetting("mqttPassword", "anything")).toBeUndefined();
});

test("set refuses what would add an error with the other settings, and only that", () => {
  const storage = store();
  const settings = new Settings({ backoffCap: "1000" }, storage);
  expect(settings.set("backoffBase", "2000")).toBe("backoffCap=1000: must not be below backoffBase=2000");
  expect(storage.data.size).toBe(0);
  expect(settings.set("backoffBase", "500")).toBeUndefined();
  expect(storage.data.get("cfg.backoffBase")).toBe("500");

  // A bad build-time value is reported at boot, and does not block fixing or changing anything else.
  const broken = new Settings({ topicPrefix: "a/#" }, store());
  expect(broken.errors()).toEqual(["topicPrefix=a/#: must be one topic level: no /"]);
  expect(broken.set("keepAlive", "30")).toBeUndefined();
  expect(broken.set("topicPrefix", "plant")).toBeUndefined();
  expect(broken.errors()).toEqual([]);
});

test("a bad saved value is named at boot", () => {
  const settings = new Settings({}, store({ "cfg.broker": "", "cfg.clientId": "a/b" }));
  expect(settings.errors()).toEqual([
    'broker="": broker list is empty: give at least one mqtt://host:port',
    "clientId=a/b: must be one topic level: no /",
  ]);
});

test("saved values wrong by themselves are dropped, each named (an older firmware's rules): the build-time value serves", () => {
  const storage = store({ "cfg.topicPrefix": "te\u0001ther", "cfg.keepAlive": "30", "cfg.mqttUser": "a\ufdd0" });
  const rejected: string[] = [];
  const settings = new Settings(
    { topicPrefix: "plant" },
    {
      ...storage,
      rejected: (key: string, why: string) => {
        rejected.push(`${key}: ${why}`);
        storage.writeSetting(key, undefined);
      },
    },
  );
  settings.dropInvalid();
  expect(rejected).toEqual([
    "cfg.mqttUser: mqttUser=a\ufdd0: brokers refuse a non-character U+FDD0 at character 2",
    'cfg.topicPrefix: topicPrefix="te\\x01ther": must be one topic level that brokers accept, not a control character U+0001 at character 3',
  ]);
  expect(settings.get("topicPrefix")).toBe("plant");
  expect(settings.get("keepAlive")).toBe("30");
  expect(settings.errors()).toEqual([]);
  rejected.length = 0;
  settings.dropInvalid();
  expect(rejected).toEqual([]);
});
