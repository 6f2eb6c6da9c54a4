// Simulated devices for the diagnostics tests, read the way a field engineer or a script reads a serial port:
// log lines through parseLine, console output by its prefix. Tests in a file run concurrently (each waits on real
// timeouts), so devices are cleaned up after the file, not after each test.

import type { Code } from "tether/diag/codes";
import { FAILURES, failureInfo, failureLevel } from "tether/diag/failures";
import { SimDevice, type SimDeviceOptions } from "../../../hosts/sim/node/device";
import { Probe as SerialProbe } from "../../../tools/rigs/probe";

/** Settings that make failure loops quick: short backoff, short timeouts. */
export const FAST: Record<string, string> = {
  backoffBase: "100",
  backoffCap: "400",
  connectTimeout: "2000",
  connackTimeout: "2000",
  backoffSpread: "0",
};

export const CODES: readonly Code[] = FAILURES.map((f) => f.code);

/** A Probe that also checks, with jest, what the device named. */
export class Probe extends SerialProbe {
  /**
   * The serial output names `expected` (each at least once) and no code but those and `allowed`; every failure line
   * carries its code's hint and level, and every line the firmware wrote is a log line or console output.
   */
  expectNames(expected: Code[], allowed: Code[] = []): void {
    const codes = this.codes();
    for (const code of expected) expect(codes).toContain(code);
    expect(codes.filter((code) => !expected.includes(code as Code) && !allowed.includes(code as Code))).toEqual([]);
    for (const line of this.failures()) {
      const info = failureInfo(line.event as Code);
      expect(line.fields.hint).toBe(info.hint);
      expect(line.level).toBe(failureLevel(info));
    }
    expect(this.strayLines()).toEqual([]);
  }

  /**
   * How many failures the statistics counted with these codes (the `stats` command's `failures` line). Not the diag
   * lines: two failures that read alike (the same uptime and idle time, in ms) make one line, the second held back
   * as a repeat by the log's rate limit.
   */
  async counted(codes: Code[]): Promise<number> {
    const stats = await this.command("stats", /^budget.remote /);
    const line = stats.find((text) => text.startsWith("failures ")) ?? "";
    let count = 0;
    for (const [, code, n] of line.matchAll(/ (\w+)=(\d+)/g)) if (codes.includes(code as Code)) count += Number(n);
    return count;
  }
}

export interface Devices {
  /** Boots the real firmware with `config` on top of FAST; killed after the test file. */
  boot(config: Record<string, string>, options?: Partial<SimDeviceOptions>): Promise<Probe>;
}

/** Devices for one test file; every one is killed in afterAll, whatever the tests did. */
export function devices(): Devices {
  const started: SimDevice[] = [];
  afterAll(async () => {
    await Promise.all(started.splice(0).map((device) => device.kill()));
  });
  return {
    async boot(config, options = {}) {
      const device = await SimDevice.start({ ...options, config: { ...FAST, ...config } });
      started.push(device);
      return new Probe(device);
    },
  };
}

/** A client id no other test uses. */
let counter = 0;
export function uniqueId(name: string): string {
  return `${name}-${process.pid % 10000}-${++counter}`;
}
