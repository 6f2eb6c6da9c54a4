// A real session of the firmware in the simulator against mosquitto, with the packet trace on and another client
// taking its client id over: the device's log becomes a capture that Debian's tshark decodes as MQTT over TCP with
// the right packet types, and mosquitto's own log, read beside it, lands on the device's timeline and in the verdict.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "mqtt";
import { SimDevice } from "../../hosts/sim/node/device";
import { mergeBrokerLog, readBrokerLog } from "../../tools/report/broker-log";
import { readSession } from "../../tools/report/session";
import { Probe } from "../../tools/rigs/probe";
import { mosquittoTest, startMosquitto } from "../helpers/mosquitto";

const TSHARK = spawnSync("tshark", ["--version"]).status === 0;

mosquittoTest(
  "a session with a takeover: the capture decodes as MQTT in tshark; the broker's log merged on the device's time",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-capture-"));
    const broker = await startMosquitto();
    const clientId = "capture-takeover";
    let device: SimDevice | undefined;
    try {
      device = await SimDevice.start({
        config: {
          broker: broker.url,
          clientId,
          beaconInterval: "0",
          backoffBase: "200",
          backoffCap: "500",
          backoffSpread: "0",
          // Every connection subscribes again: the capture shows SUBSCRIBE and SUBACK.
          cleanSession: "1",
        },
      });
      const probe = new Probe(device);
      await probe.waitForLine(/ I mqtt subscribed /);
      // The trace on, then a new connection, so that the capture holds a whole one from its CONNECT.
      await probe.command("trace on", /trace/);
      let from = probe.output.length;
      await probe.command("reconnect", /.*/);
      // The trace, not the log line: the log's rate limit holds back a second identical `subscribed` line.
      await device.waitForSerial(/ I trace in type=SUBACK /, 10000, from);
      await probe.command("pub capture/one hello 1", /pub /);
      await probe.command("pub capture/two hello 2", /pub /);
      await device.waitForSerial(/ I trace in type=PUBCOMP /, 10000, from);
      // Another client with the same id: mosquitto closes the device's connection, the device comes back.
      from = probe.output.length;
      const twin = connect(broker.url, { clientId, reconnectPeriod: 0 });
      twin.on("error", () => {});
      await new Promise((resolve) => twin.once("connect", resolve));
      await probe.waitForCode("broker_closed", 10000, 1, from);
      await twin.endAsync();
      await probe.waitForLine(/ I mqtt connected /, 10000, from);
      await device.shutdown();
      // Both sides' logs, as a person would save them.
      const deviceLog = join(dir, "device.log");
      const brokerLog = join(dir, "mosquitto.log");
      writeFileSync(deviceLog, probe.output);
      writeFileSync(brokerLog, broker.log());

      const pcap = join(dir, "session.pcap");
      const page = join(dir, "session.html");
      const run = spawnSync(
        process.execPath,
        ["scripts/run-ts.mjs", "tools/report.ts", deviceLog, "-o", page, "--broker-log", brokerLog, "--pcap", pcap],
        { encoding: "utf8" },
      );
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(/mosquitto\.log: \d+ lines about the device, clocks aligned by \d+ events both saw/);

      // mosquitto's view on the device's timeline: its takeover line lands where the device saw its connection end.
      const session = readSession(probe.output);
      const merged = mergeBrokerLog(session, probe.output, readBrokerLog(broker.log()));
      if (typeof merged === "string") throw new Error(merged);
      const takeover = merged.marks.find((m) => /already connected, closing old connection/.test(m.text))!;
      const ended = session.failures.find((f) => f.code === "broker_closed")!;
      expect(Math.abs(takeover.t - ended.t)).toBeLessThan(1500);
      expect(merged.verdict).toMatch(/the broker logged "Client capture-takeover already connected, closing old/);
      expect(merged.verdict).toMatch(/another client connected with the same client id/);
      const html = readFileSync(page, "utf8");
      expect(html).toContain("The broker's side: for 1 of the 1 connection a failure ended (broker_closed)");
      // The advice follows the broker's evidence: a takeover, which the device alone could not tell from a close.
      expect(html).toMatch(/First check: .*\(the broker&#39;s log points at session_taken_over\)/);
      expect(merged.code).toBe("session_taken_over");
      expect(html).toMatch(/<tr class="broker ends"><td>[^<]+<\/td><td>broker<\/td>/);

      if (!TSHARK) throw new Error("tshark is not installed (Debian: apt-get install -y tshark)");
      const types = execFileSync("tshark", ["-r", pcap, "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype"], {
        encoding: "utf8",
      })
        .split("\n")
        .filter(Boolean)
        .flatMap((line) => line.split(",").map(Number));
      // CONNECT, CONNACK, SUBSCRIBE, SUBACK, the QoS 1 and QoS 2 flows, and the goodbye.
      for (const type of [1, 2, 8, 9, 3, 4, 5, 6, 7, 14]) expect(types).toContain(type);
      const topics = execFileSync(
        "tshark",
        ["-r", pcap, "-Y", "mqtt.msgtype == 3", "-T", "fields", "-e", "mqtt.topic"],
        {
          encoding: "utf8",
        },
      );
      expect(topics).toContain("capture/one");
      expect(topics).toContain("capture/two");
      // No malformed packets: what tshark decodes is what the device sent.
      expect(execFileSync("tshark", ["-r", pcap, "-Y", "_ws.malformed"], { encoding: "utf8" })).toBe("");
    } finally {
      await device?.kill();
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  60000,
);
