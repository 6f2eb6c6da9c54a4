// The pattern diagnosis on a device whose event loop runs late (issue 20, item 11): the real firmware on a host
// whose every event is handled late by an amount the test draws (test/helpers/late-host.ts), against a scripted
// broker and path in true time. A busy loop blurs the times the firmware reads; it must not make a cut link or a
// NAT look like a twin with our client id, and a real twin must still be named.

import { type Flow, LateHost } from "../helpers/late-host";
import { seeded } from "../helpers/random";

/** The fault lab's quick timings (tools/lab/lab.ts). */
const SETTINGS = {
  broker: "mqtt://10.0.0.5:1883",
  clientId: "late-1",
  backoffBase: "200",
  backoffCap: "1000",
  connectTimeout: "2000",
  connackTimeout: "2000",
  beaconInterval: "0",
};
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Ten minutes of device time: far more connections than any pattern needs. */
const UNTIL = 600000;

/** Every event handled up to `most` ms late, drawn from `seed`. */
function busy(most: number, seed: number): (at: number) => number {
  const random = seeded(seed);
  return () => random() * most;
}

/** Boots the firmware and runs it until it names `code`; returns every code it named. */
function run(host: LateHost, config: Record<string, string>, code: string): string[] {
  host.boot({ ...SETTINGS, ...config });
  host.run(() => host.codes().includes(code), UNTIL);
  return host.codes();
}

/** A middlebox that closes every connection `ms` after its CONNACK. */
function cutAfter(ms: () => number) {
  let host: LateHost | undefined;
  const path = {
    connack(flow: Flow, at: number) {
      const cut = at + ms();
      host!.network(cut, () => flow.end("closed", cut));
    },
  };
  return { path, on: (h: LateHost) => (host = h) };
}

describe("a late event loop", () => {
  test.each(SEEDS)(
    "a link cut 300 ms after every CONNACK, every event handled up to 250 ms late: flapping (seed %i)",
    (seed) => {
      const cut = cutAfter(() => 300);
      const host = new LateHost(busy(250, seed), cut.path, seed);
      cut.on(host);
      const codes = run(host, {}, "flapping");
      expect(codes).not.toContain("session_taken_over");
      expect(codes).toContain("flapping");
      expect(host.serial).toMatch(/ W diag flapping .* late_ms=\d+ /);
    },
  );

  test("a loop stalled once for 2.5 s as a cut arrives, on time otherwise: the one close read late makes no twin", () => {
    let host: LateHost | undefined;
    let connections = 0;
    const path = {
      connack(flow: Flow, at: number) {
        const cut = at + 300;
        host!.network(cut, () => flow.end("closed", cut));
        // The third cut arrives while the loop is busy for 2.5 s (a flash erase, a long garbage collection): that
        // connection seems to have lasted 2.8 s, the others 300 ms.
        if (++connections === 3) host!.stall(cut - 1, 2500);
      },
    };
    host = new LateHost(() => 0, path, 1);
    const codes = run(host, {}, "flapping");
    expect(host.serial).toMatch(/ W diag broker_closed .* uptime=2799 /);
    expect(codes).not.toContain("session_taken_over");
    expect(codes).toContain("flapping");
  });

  test.each(SEEDS)(
    "a NAT that forgets flows idle for 1 s, keep alive 2 s, events up to 250 ms late: a NAT idle timeout (seed %i)",
    (seed) => {
      const path = {
        write(flow: Flow, at: number) {
          if (at - flow.lastPacket < 1000) return true;
          flow.end("reset", at + 1);
          return false;
        },
      };
      const host = new LateHost(busy(250, seed), path, seed);
      const codes = run(
        host,
        { keepAlive: "2", keepAliveMin: "1", backoffStable: "3000" },
        "nat_idle_timeout_suspected",
      );
      expect(codes).not.toContain("session_taken_over");
      expect(codes).not.toContain("flapping");
      expect(codes).toContain("nat_idle_timeout_suspected");
      // Named, and the keep alive lowered, at the third death as on a loop on time: the idle times read late are
      // alike within twice the loop's lateness (late_ms=), and the keep alive's bound on them allows for it too.
      const lines = host.serial.split("\n");
      const named = lines.findIndex((line) => / W diag nat_idle_timeout_suspected /.test(line));
      expect(lines.slice(0, named).filter((line) => / W diag (tcp_reset|keepalive_timeout) /.test(line))).toHaveLength(
        3,
      );
      expect(lines[named]).toMatch(/ keepalive=1 configured=2 late_ms=\d+ /);
    },
  );

  test.each(SEEDS)(
    "a twin with our client id, reconnecting 0.2 to 5 s after each of ours, events up to 250 ms late: still named (seed %i)",
    (seed) => {
      const twin = seeded(seed ^ 0x7a1);
      const cut = cutAfter(() => 200 + twin() * 4800);
      const host = new LateHost(busy(250, seed), cut.path, seed);
      cut.on(host);
      const codes = run(host, { backoffCap: "5000" }, "session_taken_over");
      expect(codes).toContain("session_taken_over");
      expect(codes).not.toContain("flapping");
    },
  );

  test.each(SEEDS)(
    "`reconnect` typed as soon as each connection is up, events up to 250 ms late: never two dials within backoffBase (seed %i)",
    (seed) => {
      const host = new LateHost(busy(250, seed), {}, seed);
      host.boot({ ...SETTINGS, backoffBase: "1000", backoffCap: "4000" });
      for (let n = 1; n <= 5; n++) {
        host.run(() => (host.serial.match(/ I mqtt connected /g) ?? []).length >= n, UNTIL);
        if (n < 5) host.type("reconnect", host.now());
      }
      // The device's clock as it dialled: the line's time, read in the same turn on this host.
      const dials = [...host.serial.matchAll(/^(\d+) I mqtt connecting /gm)].map((m) => Number(m[1]));
      expect(dials).toHaveLength(5);
      // Before the floor, the console's reconnect dialled at once.
      for (let i = 1; i < dials.length; i++) expect(dials[i]! - dials[i - 1]!).toBeGreaterThanOrEqual(1000);
    },
  );
});
