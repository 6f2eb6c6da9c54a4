// The fault lab's scenarios: each builds one classic failure for real on loopback (a real broker, the fault proxy,
// real certificates) around the real firmware in the simulator, and returns once the device has named it. The
// conditions are the ones the diagnostics tests use (test/diagnostics/), scaled down in time.

import { connect } from "mqtt";
import type { Code } from "tether/diag/codes";
import { startDynsec } from "../rigs/dynsec";
import { MOSQUITTO, startMosquitto } from "../rigs/mosquitto";
import { makeCertificates, OPENSSL, startTlsFront } from "../rigs/tls";
import { type Lab, SCENARIO_TIMEOUT_MS } from "./lab";

export type Need = "mosquitto" | "openssl";

/**
 * One diagnosis a scenario expects: a code, or codes of which the device names at least one, where the condition
 * truthfully shows either way (a broker that stops closes its connections, or resets one whose last packet it had
 * not read yet).
 */
export type Expected = Code | Code[];

export interface Scenario {
  name: string;
  /** One line for the list. */
  title: string;
  /** What is done to the device, for the summary. */
  story: string;
  /** What the firmware must name (each at least once, on the first device). */
  expect: Expected[];
  /** Codes the device may name on the way (the failures the condition causes one by one); any other is a misnomer. */
  allowed: Code[];
  needs: Need[];
  /** Runs the scenario until the device has named every expected code; the lab cleans up. */
  run(lab: Lab): Promise<void>;
}

const id = (name: string) => `lab-${name}-${process.pid % 10000}`;

/** Waits for each code in turn on the lab's first device (the scenario's time, SCENARIO_TIMEOUT_MS, bounds it). */
async function named(lab: Lab, codes: Expected[], timeoutMs = SCENARIO_TIMEOUT_MS): Promise<void> {
  const device = [...lab.devices.values()][0]!;
  for (const code of codes) await device.waitForCode(code, timeoutMs);
}

export const SCENARIOS: Scenario[] = [
  {
    name: "wrong-password",
    title: "a known user with the wrong password",
    story: "mosquitto knows alice (password correct-horse); the device logs in as alice with another password",
    expect: ["bad_credentials"],
    allowed: [],
    needs: ["mosquitto"],
    async run(lab) {
      const broker = await lab.mosquitto(
        () => startMosquitto({ users: { alice: "correct-horse" } }),
        "password file with alice",
      );
      await lab.boot("device", {
        broker: broker.url,
        clientId: id("pw"),
        mqttUser: "alice",
        mqttPassword: "wrong-horse",
      });
      await named(lab, this.expect);
    },
  },
  {
    name: "acl-denied",
    title: "the broker's ACL denies a subscription and a publish (MQTT 5)",
    story:
      "mosquitto's dynamic security plugin denies secret/# to anonymous clients; the device (MQTT 5) subscribes to " +
      "and publishes on secret/plans. With an acl_file, or with MQTT 3.1.1 for the publish, nothing would tell",
    expect: ["subscribe_denied", "publish_denied"],
    allowed: [],
    needs: ["mosquitto"],
    async run(lab) {
      const denials = [
        { acltype: "subscribePattern", topic: "secret/#" },
        { acltype: "publishClientSend", topic: "secret/#" },
      ];
      const broker = await lab.mosquitto(() => startDynsec(denials), "dynamic security: secret/# denied");
      const device = await lab.boot("device", { broker: broker.url, clientId: id("acl"), mqttVersion: "5" });
      await device.waitForLine(/ I mqtt subscribed /);
      await lab.type(device, "sub secret/plans 1", /sub sent/);
      await device.waitForCode("subscribe_denied");
      await lab.type(device, "pub secret/plans hello 1", /pub /);
      await named(lab, this.expect);
    },
  },
  {
    name: "client-id-collision",
    title: "two devices with the same client id",
    story: "two devices share one client id: each connect makes the broker close the other's connection",
    expect: ["session_taken_over"],
    // The loop detector may name the repeats on the way (connections ending alike with nothing delivered).
    allowed: ["broker_closed", "tcp_reset", "reconnect_loop"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      // Retries drawn from a range wider than the lab's 1 s cap: twins whose waits all sit at one short cap come
      // back at regular times, which is a flapping link's evidence, not a twin's (docs/troubleshooting.md).
      const twin = { broker: broker.url, clientId: id("twin"), backoffCap: "20000", backoffSpread: "0" };
      const device = await lab.boot("device", twin);
      await device.waitForLine(/ I mqtt connected /);
      await lab.boot("twin", twin);
      await named(lab, this.expect);
    },
  },
  {
    name: "broker-restart",
    title: "the broker restarts",
    story:
      "the broker stops (closing its connections without DISCONNECT), its port refuses for a while, then it is back",
    // Stopped with a packet of the device's still unread (the SUBSCRIBE and status it sends on connecting), mosquitto
    // resets the connection instead of closing it: the device names what it got, and the hint of each names a restart.
    expect: [["broker_closed", "tcp_reset"]],
    // A dial that lands while mosquitto shuts down or starts again is taken by the kernel, then reset: truthful too.
    allowed: ["tcp_refused", "tcp_reset"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const device = await lab.boot("device", { broker: broker.url, clientId: id("restart") });
      await device.waitForLine(/ I mqtt connected /);
      lab.note(`${broker.kind} stops`);
      await broker.stop();
      await device.waitForCode(["broker_closed", "tcp_reset"]);
      await device.waitForCode("tcp_refused");
      const from = device.output.length;
      await broker.start();
      lab.note(`${broker.kind} is back on port ${broker.port}`);
      await device.waitForLine(/ I mqtt connected /, SCENARIO_TIMEOUT_MS, from);
    },
  },
  {
    name: "half-open",
    title: "the link turns into a black hole (half-open connection)",
    story: "while connected, the path stops carrying anything either way, and closes nothing: only keep alive can tell",
    expect: ["keepalive_timeout"],
    allowed: ["connack_timeout"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const proxy = await lab.proxy(broker.port);
      const device = await lab.boot("device", {
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        clientId: id("halfopen"),
        keepAlive: "2",
        keepAliveMin: "1",
      });
      await device.waitForLine(/ I mqtt connected /);
      lab.note("the fault proxy blackholes the link");
      proxy.blackhole();
      await device.waitForCode("keepalive_timeout", SCENARIO_TIMEOUT_MS);
      const from = device.output.length;
      lab.note("the link carries traffic again");
      proxy.blackhole(false);
      await device.waitForLine(/ I mqtt connected /, SCENARIO_TIMEOUT_MS, from);
    },
  },
  {
    name: "nat-idle",
    title: "a NAT forgets idle connections (2 s); the tuned keep alive then holds the link",
    story:
      "a NAT between device and broker forgets a connection after 2 s without traffic and resets it both ways; the " +
      "device's keep alive is 3 s, so its connections die idle until the tuner lowers the keep alive below 2 s, and " +
      "then the link holds (time runs about 30 times faster than in the field)",
    expect: ["nat_idle_timeout_suspected"],
    allowed: ["tcp_reset", "keepalive_timeout", "reconnect_loop"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const proxy = await lab.proxy(broker.port);
      lab.note("the fault proxy forgets connections idle for 2 s and resets both ends");
      proxy.natIdle(2000, "reset");
      const device = await lab.boot("device", {
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        clientId: id("nat"),
        keepAlive: "3",
        keepAliveMin: "1",
        backoffStable: "3000",
      });
      await named(lab, this.expect);
      const tuned = await device.waitForLine(/ W keepalive tuned /, SCENARIO_TIMEOUT_MS);
      const [, to] = /-> (\d+) s/.exec(tuned)!;
      await device.waitForLine(
        new RegExp(` I mqtt connected .*keepalive=${to} `),
        SCENARIO_TIMEOUT_MS,
        device.output.indexOf(tuned),
      );
      // The packet trace shows every PINGRESP (the log's rate limit would merge them): three round trips on one
      // connection, each within a keep alive shorter than the NAT's 2 s, outlive what the NAT lets an idle
      // connection live, with no failure in between.
      const from = device.output.length;
      await lab.type(device, "trace on", /trace/);
      await device.device.waitForSerial(/( I trace in type=PINGRESP[\s\S]*?){3}/, SCENARIO_TIMEOUT_MS, from);
      const died = device.failures(from);
      if (died.length) throw new Error(`the tuned link died: ${died[0]!.event}`);
      lab.note(`the keep alive is ${to} s and the link holds: three pings answered on one connection`);
    },
  },
  {
    name: "flapping",
    title: "a middlebox cuts every connection 300 ms after its CONNACK",
    story: "every connection the device makes is closed by something on the path 300 ms after the broker accepts it",
    expect: ["flapping"],
    allowed: ["broker_closed", "reconnect_loop"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const proxy = await lab.proxy(broker.port);
      lab.note("the fault proxy closes every connection 300 ms after its CONNACK");
      proxy.connackCut(300);
      await lab.boot("device", { broker: `mqtt://127.0.0.1:${proxy.port}`, clientId: id("flap") });
      await named(lab, this.expect);
    },
  },
  {
    name: "tls-wrong-ca",
    title: "TLS: the device trusts another CA than the one that signed the broker",
    story: "the broker's certificate (for 127.0.0.1) is signed by one CA; the device is given another CA's certificate",
    expect: ["tls_failed"],
    allowed: [],
    needs: ["openssl"],
    async run(lab) {
      const broker = await lab.broker();
      const [signer, other] = [makeCertificates(), makeCertificates()];
      lab.defer(async () => {
        signer.remove();
        other.remove();
      });
      const front = await startTlsFront(signer.good, broker.port);
      lab.defer(() => front.close());
      lab.note(`TLS front end on 127.0.0.1:${front.port}, its certificate signed by a CA the device is not given`);
      await lab.boot("device", {
        broker: `mqtts://127.0.0.1:${front.port}`,
        clientId: id("tls"),
        brokerCa: other.ca,
      });
      await named(lab, this.expect);
    },
  },
  {
    name: "oversized-message",
    title: "a message larger than the device accepts",
    story: "the device accepts packets up to 1024 bytes (maxPacketSize); another client publishes 4000 bytes to it",
    expect: ["packet_too_large"],
    allowed: [],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const clientId = id("big");
      const device = await lab.boot("device", { broker: broker.url, clientId, maxPacketSize: "1024" });
      await device.waitForLine(/ I mqtt subscribed /);
      await lab.type(device, `sub ${clientId}/big 0`, /sub sent/);
      await device.waitForLine(new RegExp(` I mqtt subscribed filters=${clientId}/big `));
      const sender = connect(broker.url, { clientId: `${clientId}-sender`, reconnectPeriod: 0 });
      sender.on("error", () => {});
      lab.defer(() => sender.endAsync(true));
      lab.note(`another client publishes 4000 bytes on ${clientId}/big`);
      await sender.publishAsync(`${clientId}/big`, Buffer.alloc(4000, 0x61));
      await named(lab, this.expect);
    },
  },
  {
    name: "queue-overflow",
    title: "the offline queue outgrows the heap while the broker is unreachable",
    story:
      "the broker cannot be reached, the application keeps publishing QoS 1 readings, and the offline queue is " +
      "allowed more than the heap budget (heapLimit) holds",
    expect: ["low_memory"],
    // The device goes with thousands of QoS 1 messages waiting, 16 of them stored: it names the rest as it goes.
    allowed: ["tcp_refused", "reconnect_loop", "message_dropped"],
    needs: [],
    async run(lab) {
      const broker = await lab.broker();
      const proxy = await lab.proxy(broker.port);
      await proxy.refuse();
      lab.note("the fault proxy refuses connections: the broker is unreachable");
      const device = await lab.boot("device", {
        broker: `mqtt://127.0.0.1:${proxy.port}`,
        clientId: id("queue"),
        queueCount: "100000",
        queueBytes: "16777216",
        backoffBase: "1000",
      });
      await device.waitForCode("tcp_refused");
      const [, used] = /heap_used=(\d+)/.exec((await lab.type(device, "status", /heap_used=/)).join("\n"))!;
      const limit = Math.round(Number(used) * 1.15);
      await lab.type(device, `config set heapLimit ${limit}`, /heapLimit=/);
      lab.note("the application publishes QoS 1 readings until the device says its memory is low");
      let queued = 0;
      for (; queued < 3000 && !device.output.includes(" diag low_memory "); queued++) {
        await device.command(`pub sensor/${queued} "a reading of the sensor, queued while offline" 1`, /pub /);
      }
      lab.note(`${queued} messages published while offline`);
      await named(lab, this.expect);
    },
  },
];

/** What a scenario needs that this machine lacks, as one line; undefined when it can run. */
export function missing(scenario: Scenario): string | undefined {
  const lacking = scenario.needs.filter((need) => (need === "mosquitto" ? !MOSQUITTO : !OPENSSL));
  return lacking.length
    ? `needs ${lacking.join(" and ")} (Debian: apt-get install -y ${lacking.join(" ")})`
    : undefined;
}

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
