// Invalid configuration at start-up: one clear error line naming the setting and what is allowed, no connection
// attempt, and a device that stays up with its console answering.

import { parseLine } from "tether/diag/log";
import { simDevices } from "../helpers/sim";
import { command, deviceConfig } from "./harness";

const devices = simDevices();

const CASES: [string, Record<string, string>, RegExp][] = [
  ["keep alive 0", { keepAlive: "0" }, /keepAlive\b.*\b1\b.*\b65535\b/],
  ["keep alive above 65535", { keepAlive: "70000" }, /keepAlive\b.*\b1\b.*\b65535\b/],
  ["cap below base", { backoffBase: "5000", backoffCap: "1000" }, /backoffCap\b.*backoffBase/],
  ["empty broker list", { broker: "" }, /broker.*empty/],
  ["a list of nothing but commas", { broker: " , ," }, /broker.*empty/],
  ["a malformed broker URL", { broker: "http://127.0.0.1:1883" }, /broker URL "http:\/\/127\.0\.0\.1:1883".*mqtt:\/\//],
  ["a port out of range", { broker: "mqtt://127.0.0.1:1883,mqtt://127.0.0.1:99999" }, /broker URL.*1\.\.65535/],
  ["wildcards in the topic prefix", { topicPrefix: "a/+/#" }, /^topicPrefix=a\/\+\/#: must be one topic level/],
  ["an empty topic prefix", { topicPrefix: "" }, /^topicPrefix="": must not be empty/],
  ["a topic prefix of the broker's", { topicPrefix: "$SYS" }, /^topicPrefix=\$SYS: must not start with \$/],
  ["U+0000 in the client id", { clientId: "a\u0000b" }, /^clientId="a\\x00b": must be one topic level/],
  ["a client id of two levels", { clientId: "dev/1" }, /^clientId=dev\/1: must be one topic level/],
  ["a client id over 128 bytes", { clientId: "é".repeat(65) }, /^clientId=é+: must be at most 128 bytes/],
  [
    "U+0000 in the user name",
    { mqttUser: "a\u0000" },
    /^mqttUser="a\\x00": brokers refuse a control character U\+0000/,
  ],
  ["a non-character in the user name", { mqttUser: "a\uffff" }, /^mqttUser=.*: brokers refuse a non-character U\+FFFF/],
  ["a control character in the topic prefix", { topicPrefix: "te\u0001ther" }, /^topicPrefix=.*U\+0001/],
];

test.each(CASES)("%s: one error line naming the setting, and the console still answers", async (_, bad, names) => {
  const device = await devices.start({ config: deviceConfig("config-check", bad) });
  await device.waitForSerial(/E app config_error .*\n/);
  const errors = device.serialOutput.split("\n").filter((line) => / E /.test(line));
  expect(errors).toHaveLength(1);
  expect(parseLine(errors[0]!)?.fields.error).toMatch(names);
  const [state] = await command(device, "status", /state=.*\n/);
  expect(state).toMatch(/stopped \(config error\)/);
  expect(device.serialOutput).not.toMatch(/mqtt connecting/);
  expect(device.running).toBe(true);
});
