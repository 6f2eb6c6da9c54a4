// Authentication and authorization failures against a real mosquitto: a password file (wrong password, anonymous
// refused) and the dynamic security plugin (subscribe and publish denials it reports, unlike an acl_file). What
// mosquitto really answers is in /work/shared/broker-facts.md.

import { startDynsec } from "../../tools/rigs/dynsec";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { devices, uniqueId } from "./helpers/device";

const boot = devices().boot;
/** Anonymous clients may do anything but subscribe to or publish on secret/#. */
const DENY_SECRET = [
  { acltype: "subscribePattern", topic: "secret/#" },
  { acltype: "publishClientSend", topic: "secret/#" },
];

let passwords: Mosquitto;
let dynsec: Mosquitto;

beforeAll(async () => {
  [passwords, dynsec] = await Promise.all([
    startMosquitto({ users: { alice: "correct-horse" } }),
    startDynsec(DENY_SECRET),
  ]);
});

afterAll(async () => {
  await Promise.all([passwords?.stop(), dynsec?.stop()]);
});

describeMosquitto("authentication and authorization", () => {
  test.concurrent.each([
    ["3.1.1", "0x05 Connection Refused, not authorized"],
    ["5", "0x87 Not authorized"],
  ])("bad_credentials: a wrong password for a known user (MQTT %s)", async (version, reason) => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("badpw"),
      mqttVersion: version,
      mqttUser: "alice",
      mqttPassword: "wrong-password",
    });
    const line = await device.waitForCode("bad_credentials");
    expect(line.fields).toMatchObject({ reason, user: "set" });
    device.expectNames(["bad_credentials"]);
    expect(device.output).not.toContain("wrong-password");
  });

  test.concurrent("a password that is an ordinary word (wrong) is hidden as a field, and the hint still reads right", async () => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("wordpw"),
      mqttUser: "alice",
      mqttPassword: "wrong",
    });
    const line = await device.waitForCode("bad_credentials");
    // The hint names "a wrong password": hiding the password's text wherever it appeared made it "a *** password",
    // which told the reader the password.
    expect(line.fields.hint).toContain("for a wrong password or unknown user");
    expect(device.output).not.toContain("***");
  });

  test.concurrent("a password fixed on the console is used by reconnect at once (not the old one, after the cap)", async () => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("fixpw"),
      mqttUser: "alice",
      mqttPassword: "wrong-password",
      backoffCap: "120000",
    });
    await device.waitForCode("bad_credentials");
    await device.command("config set mqttPassword correct-horse", /saved/);
    const from = device.output.length;
    await device.command("reconnect", /reconnecting/);
    // The old password would fail again, and the next try would wait the 60..120 s cap of a refused login.
    await device.waitForLine(/ I mqtt connected /, 10000, from);
    expect(device.output.slice(from)).not.toMatch(/ diag bad_credentials /);
  });

  test.concurrent("a user name set on the console and used by reconnect names the next refusal, in the statistics too", async () => {
    const device = await boot({ broker: passwords.url, clientId: uniqueId("login"), backoffCap: "120000" });
    await device.waitForCode("not_authorized");
    await device.command("config set mqttUser alice", /saved/);
    await device.command("config set mqttPassword wrong-password", /saved/);
    await device.command("reconnect", /reconnecting/);
    await device.waitForCode("bad_credentials");
    // The client's classification (statistics, backoff policy) reads the user name the CONNECT carries now, as the
    // diagnoser does: one taken when the client was made counted this refusal as not_authorized.
    const lines = await device.command("stats", /^budget.remote /);
    expect(lines).toContain("failures not_authorized=1 bad_credentials=1");
  });

  test.concurrent.each([["3.1.1"], ["5"]])(
    "not_authorized: no user name where anonymous clients are refused (MQTT %s)",
    async (version) => {
      const device = await boot({ broker: passwords.url, clientId: uniqueId("anon"), mqttVersion: version });
      const line = await device.waitForCode("not_authorized");
      expect(line.fields.user).toBe("none");
      expect(line.fields.reason).toBe(
        version === "5" ? "0x87 Not authorized" : "0x05 Connection Refused, not authorized",
      );
      device.expectNames(["not_authorized"]);
    },
  );

  test.concurrent("the right password connects, and names no failure", async () => {
    const device = await boot({
      broker: passwords.url,
      clientId: uniqueId("goodpw"),
      mqttUser: "alice",
      mqttPassword: "correct-horse",
    });
    await device.waitForLine(/ I mqtt connected /);
    device.expectNames([]);
  });

  test.concurrent.each([
    ["3.1.1", "0x80"],
    ["5", "0x87"],
  ])("subscribe_denied: SUBACK refuses the filter (MQTT %s)", async (version, reason) => {
    const device = await boot({ broker: dynsec.url, clientId: uniqueId("subdeny"), mqttVersion: version });
    await device.waitForLine(/ I mqtt subscribed /);
    expect(await device.command("sub secret/plans 1", /sub sent/)).toEqual([
      expect.stringMatching(/^sub sent id=\d+$/),
    ]);
    const line = await device.waitForCode("subscribe_denied");
    expect(line.fields).toMatchObject({ filter: "secret/plans" });
    expect(line.fields.reason).toMatch(new RegExp(`^${reason} `));
    device.expectNames(["subscribe_denied"]);
  });

  test.concurrent("publish_denied: MQTT 5 PUBACK 0x87 for a QoS 1 message", async () => {
    const device = await boot({ broker: dynsec.url, clientId: uniqueId("pubdeny"), mqttVersion: "5" });
    await device.waitForLine(/ I mqtt subscribed /);
    expect(await device.command("pub secret/plans hello 1", /pub /)).toEqual(["pub sent"]);
    const line = await device.waitForCode("publish_denied");
    expect(line.fields).toMatchObject({ topic: "secret/plans", qos: "1", reason: "0x87 Not authorized" });
    device.expectNames(["publish_denied"]);
  });

  test.concurrent("MQTT 3.1.1 cannot tell a denied publish: the device names nothing it cannot know", async () => {
    const device = await boot({ broker: dynsec.url, clientId: uniqueId("pub311") });
    await device.waitForLine(/ I mqtt subscribed /);
    const from = device.output.length;
    device.device.typeLine("trace on");
    await device.command("pub secret/plans hello 1", /pub sent/);
    await device.waitForLine(/ I trace in type=PUBACK .*rc=0/, 20000, from);
    device.expectNames([]);
  });
});
