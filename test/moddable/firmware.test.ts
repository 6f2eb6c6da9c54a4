// The firmware as a user builds it: mcconfig on the root manifest, for Moddable's simulator (lin) and for the ESP32
// (modules compiled and linked; there is no ESP-IDF here), then run in mcsim against a real mosquitto. What a user
// checks first: it boots, connects, beacons, answers a command, names the failure when the broker goes away and
// comes back with it; QoS 1 both ways (commands come in at QoS 1, replies and the beacon go out at QoS 1).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Build, build, filesUnder, Mcsim, ownWarnings, SDK, unresolvedImports } from "../../tools/rigs/moddable";
import { describeMosquitto, type Mosquitto, startMosquitto } from "../helpers/mosquitto";
import { peer, subscribe } from "../helpers/peer";

const ID = "mcsim-firmware";

/** The modules a folder of typings declares. */
function declared(folder: string): string[] {
  return filesUnder(folder)
    .filter((name) => name.endsWith(".d.ts"))
    .flatMap((name) => [...readFileSync(join(folder, name), "utf8").matchAll(/declare module ["']([^"']+)["']/g)])
    .map((match) => match[1]);
}

test("our typings declare only modules the SDK ships no typing for (the SDK's own win under mcconfig)", () => {
  const ours = declared("hosts/moddable");
  const sdk = new Set(declared(join(SDK, "typings")));
  expect(ours.length).toBeGreaterThan(0);
  expect(ours.filter((name) => sdk.has(name))).toEqual([]);
});

describe("the firmware for esp32: every module compiles, xsl links, every import resolves", () => {
  let esp32: Build;
  beforeAll(() => {
    esp32 = build(".", { platform: "esp32" });
  });
  afterAll(() => esp32?.remove());

  test("no import of ours names a module the build lacks", () => {
    expect(unresolvedImports(esp32.tmp)).toEqual([]);
  });

  test("no warnings about our code", () => {
    expect(ownWarnings(esp32.output)).toEqual([]);
  });
});

describeMosquitto("the firmware for lin, in mcsim, against mosquitto", () => {
  let broker: Mosquitto;
  let lin: Build;
  let sim: Mcsim | undefined;
  beforeAll(async () => {
    broker = await startMosquitto();
    lin = build(".", {
      platform: "lin",
      config: { broker: broker.url, clientId: ID, beaconInterval: "1", backoffBase: "300", backoffCap: "1000" },
    });
  });
  // Every test starts from a broker of its own on the port the build knows: no retained message, session or will
  // of an earlier test's device (the start-up runs' wills left a retained {"online":false} for the next test's
  // beacon watcher to read).
  beforeEach(async () => {
    const port = broker.port;
    await broker.stop();
    broker = await startMosquitto({ port });
  });
  afterAll(async () => {
    await sim?.kill();
    await broker?.stop();
    lin?.remove();
  });

  test("builds without warnings about our code, every import resolved", () => {
    expect(ownWarnings(lin.output)).toEqual([]);
    expect(unresolvedImports(lin.tmp)).toEqual([]);
  });

  test("starts 20 times out of 20: preloaded modules and their frozen tables never crash the start-up", async () => {
    for (let start = 1; start <= 20; start++) {
      const run = Mcsim.start(lin.library!);
      try {
        // Every run is a new device: its storage is its own, so it counts its first boot (see Mcsim).
        const [, boot] = await run.waitFor(/ I app boot .*\bboot=(\d+)/, 20000);
        expect(boot).toBe("1");
        await run.waitFor(/ I mqtt connecting broker=/, 20000);
        expect(run.output).not.toMatch(/XS abort|Segmentation fault|\*\*\* /);
      } finally {
        await run.kill();
      }
    }
  }, 300000);

  test("boots, connects, beacons, answers a command; names the broker's loss, reconnects when it returns", async () => {
    const watcher = await peer(broker.url, "watcher");
    await subscribe(watcher.client, `tether/${ID}/#`, 1);
    sim = Mcsim.start(lin.library!);
    await sim.waitFor(/ I app boot platform=mcsim client_id=mcsim-firmware/);
    await sim.waitFor(/ I mqtt connected session=\w+/);

    const beacon = await watcher.waitFor((m) => m.topic === `tether/${ID}/status`);
    expect(JSON.parse(beacon.payload)).toMatchObject({ online: true });
    expect(beacon.qos).toBe(1);

    await sim.waitFor(/ I mqtt subscribed filters=tether\/mcsim-firmware\/cmd codes=1/);
    watcher.client.publish(`tether/${ID}/cmd`, "status", { qos: 1 });
    const reply = await watcher.waitFor((m) => m.topic === `tether/${ID}/reply`);
    expect(reply.payload).toMatch(/^state=connected client_id=mcsim-firmware platform=mcsim/);
    expect(reply.qos).toBe(1);
    await watcher.client.endAsync(true);

    const port = broker.port;
    const before = sim.output.length;
    await broker.stop();
    const [, code] = await sim.waitFor(/ [EW] diag (\w+) /, 20000, before);
    expect(["broker_closed", "tcp_refused"]).toContain(code);
    // The attempts while it is down are refused, and named so (not a timeout, not a TLS failure).
    await sim.waitFor(/ I mqtt retry in_ms=\d+ reason="tcp_refused: /, 20000, before);

    broker = await startMosquitto({ port });
    const back = sim.output.length;
    await sim.waitFor(/ I mqtt connected session=\w+/, 20000, back);
    const again = await peer(broker.url, "watcher-again");
    await subscribe(again.client, `tether/${ID}/reply`, 1);
    again.client.publish(`tether/${ID}/cmd`, "status", { qos: 1 });
    expect((await again.waitFor((m) => m.topic === `tether/${ID}/reply`)).payload).toMatch(/^state=connected/);
    await again.client.endAsync(true);
  }, 90000);
});
