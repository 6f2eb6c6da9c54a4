// The backoff policy as the device lives it, against real brokers: the growth resets only after a stable
// connection, refused credentials wait the cap, a lost link is waited for instead of dialled.

import type { FaultProxy } from "../../tools/rigs/fault-proxy";
import { mosquittoTest, startMosquitto } from "../helpers/mosquitto";
import { simDevices } from "../helpers/sim";
import {
  BROKERS,
  connections,
  deviceConfig,
  logLines,
  mark,
  proxyTo,
  startTestBroker,
  stats,
  type TestBroker,
  WAIT,
} from "./harness";

const BASE = 300;

const devices = simDevices();
const proxies: FaultProxy[] = [];
let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker(BROKERS[0]!);
});
afterAll(() => broker.stop());
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

test("the backoff resets only after a connection stayed up for the stable period", async () => {
  const STABLE = 2000;
  const proxy = await proxyTo(broker.port, proxies);
  // Flapping first (the CONNACK gets through, then the connection closes), so there is growth to reset.
  proxy.cut(4, "down");
  const device = await devices.start({
    broker: `mqtt://127.0.0.1:${proxy.port}`,
    config: deviceConfig("policy-stable", {
      backoffBase: String(BASE),
      backoffCap: "1200",
      backoffStable: String(STABLE),
    }),
  });
  await device.waitForSerial(/I mqtt retry .*attempt 3;/, WAIT);
  await proxy.passThrough();
  const { ok } = await connections(device, 4);

  // A drop before the stable period: the attempt count carries on and the delay keeps its growth.
  let from = mark(device);
  proxy.resetAll();
  await device.waitForSerial(/I mqtt retry /, WAIT, from);
  const [early] = logLines(device, "mqtt", "retry", from);
  expect(early!.fields.reason).not.toMatch(/backoff reset/);
  expect(Number(/attempt (\d+);/.exec(early!.fields.reason!)?.[1])).toBeGreaterThan(3);
  expect(Number(early!.fields.in_ms)).toBeGreaterThanOrEqual(BASE);

  // A drop after it: the growth starts again from the first retry, within the base delay.
  await connections(device, ok + 1);
  await new Promise((resolve) => setTimeout(resolve, STABLE + 300)); // the period under test must pass
  from = mark(device);
  proxy.resetAll();
  await device.waitForSerial(/I mqtt retry /, WAIT, from);
  const [late] = logLines(device, "mqtt", "retry", from);
  expect(late!.fields.reason).toMatch(/backoff reset: attempt 1;/);
  expect(Number(late!.fields.in_ms)).toBeLessThan(BASE);
  await connections(device, ok + 2);
});

mosquittoTest(
  "bad credentials (3.1.1 and 5) go straight to the cap and say so; the password is never shown",
  async () => {
    const CAP = 2000;
    const secured = await startMosquitto({ users: { dev: "right-password" } });
    try {
      const boot = (version: string) =>
        devices.start({
          broker: secured.url,
          config: deviceConfig(`policy-cap-${version}`, {
            mqttVersion: version,
            mqttUser: "dev",
            mqttPassword: "wrong-password",
            backoffBase: String(BASE),
            backoffCap: String(CAP),
          }),
        });
      const pair = await Promise.all([boot("3.1.1"), boot("5")]);
      await Promise.all(pair.map((d) => d.waitForSerial(/I mqtt connecting .* attempt=2\b/, WAIT)));
      for (const device of pair) {
        const [retry] = logLines(device, "mqtt", "retry");
        // Drawn from the cap's upper half, so that a fleet refused together does not retry together.
        const wait = Number(retry!.fields.in_ms);
        expect(wait).toBeGreaterThanOrEqual(CAP / 2);
        expect(wait).toBeLessThan(CAP);
        expect(retry!.fields.reason).toMatch(/^bad_credentials: .*waiting the cap/);
        expect(logLines(device, "diag", "bad_credentials").length).toBe(1);
        const [first, second] = logLines(device, "mqtt", "connecting").map((l) => l.time);
        expect(second! - first!).toBeGreaterThanOrEqual(wait - 5);
        expect(device.serialOutput).not.toContain("wrong-password");
      }
    } finally {
      await secured.stop();
    }
  },
);

test("link down: waits for the link instead of dialling, then connects within the base delay", async () => {
  const proxy = await proxyTo(broker.port, proxies);
  const device = await devices.start({
    broker: `mqtt://127.0.0.1:${proxy.port}`,
    config: deviceConfig("policy-link", { backoffBase: String(BASE) }),
  });
  await connections(device, 1);
  const from = mark(device);
  device.setLink(false);
  await device.waitForSerial(/W link waiting/, WAIT, from);
  const before = await stats(device);
  // Several base delays pass: a supervisor that spins would have dialled again and again by now.
  await new Promise((resolve) => setTimeout(resolve, 5 * BASE));
  const during = await stats(device);
  expect(during.attempts).toBe(before.attempts);
  expect(proxy.accepted).toBe(1);
  const back = mark(device);
  device.setLink(true);
  await connections(device, 2);
  // The device's own decision once the link is back: a wait below the base delay. (When its timer fires is the
  // host's clock: a busy machine delays it, and the product cannot.)
  const [retry] = logLines(device, "mqtt", "retry", back);
  expect(Number(retry!.fields.in_ms)).toBeLessThan(BASE);
});
