// A simulated device read the way a field engineer or a script reads a serial port: log lines through parseLine,
// console output by its prefix, waits on what the device writes. Used by the diagnostics tests and the fault lab.

import { OUTPUT_PREFIX } from "tether/app/device";
import type { Code } from "tether/diag/codes";
import { type ParsedLine, parseLine } from "tether/diag/log";
import type { SimDevice } from "../../hosts/sim/node/device";

export class Probe {
  constructor(readonly device: SimDevice) {}

  get output(): string {
    return this.device.serialOutput;
  }

  /** Complete serial lines written after offset `from`. */
  lines(from = 0): string[] {
    const text = this.output.slice(from);
    return text
      .slice(0, text.lastIndexOf("\n") + 1 || 0)
      .split("\n")
      .slice(0, -1);
  }

  logs(from = 0): ParsedLine[] {
    return this.lines(from)
      .map((line) => parseLine(line))
      .filter((line) => line !== undefined);
  }

  /** The `diag <code>` failure lines (not their suppression summaries). */
  failures(from = 0): ParsedLine[] {
    return this.logs(from).filter((line) => line.area === "diag" && line.suppressed === undefined);
  }

  /** The codes named by failure lines, in the order they first appear. */
  codes(from = 0): string[] {
    return [...new Set(this.failures(from).map((line) => line.event))];
  }

  /**
   * Waits for the `n`th failure line naming `code` (after `from`) and returns it parsed. Several codes: any of them
   * (one condition the device may truthfully see either way, e.g. a broker that stops: a close or a reset).
   */
  async waitForCode(code: Code | Code[], timeoutMs = 20000, n = 1, from = 0): Promise<ParsedLine> {
    const codes = typeof code === "string" ? [code] : code;
    const name = `(?:${codes.join("|")})`;
    await this.device.waitForSerial(new RegExp(`(^\\d+ [EW] diag ${name}( .*)?$[^]*?){${n}}`, "m"), timeoutMs, from);
    return this.failures(from).filter((parsed) => codes.includes(parsed.event as Code))[n - 1]!;
  }

  /** Waits for a log line matching `pattern` (a regular expression over the raw line). */
  async waitForLine(pattern: RegExp, timeoutMs = 20000, from = 0): Promise<string> {
    const [line] = await this.device.waitForSerial(new RegExp(`^\\d+.*${pattern.source}.*$`, "m"), timeoutMs, from);
    return line;
  }

  /** Waits until `n` log lines (from the start) match `pattern`. */
  async waitForLines(pattern: RegExp, n: number, timeoutMs = 20000): Promise<void> {
    await this.device.waitForSerial(new RegExp(`(^\\d+.*${pattern.source}.*$[^]*?){${n}}`, "m"), timeoutMs);
  }

  /**
   * Types a console line and resolves with the console output (prefix removed) written once `until` matches an
   * output line: commands print all their output at once, so waiting for the last line expected is enough.
   */
  async command(line: string, until: RegExp = /.*/, timeoutMs = 20000): Promise<string[]> {
    const from = this.output.length;
    this.device.typeLine(line);
    const escaped = OUTPUT_PREFIX.replace(/[|]/g, "\\|");
    const rest = until.source.startsWith("^") ? until.source.slice(1) : `.*${until.source}`;
    await this.device.waitForSerial(new RegExp(`^${escaped}${rest}.*\\n`, "m"), timeoutMs, from);
    return this.consoleOutput(from);
  }

  /** Console output lines written after `from`, prefix removed. */
  consoleOutput(from = 0): string[] {
    return this.lines(from)
      .filter((line) => line.startsWith(OUTPUT_PREFIX))
      .map((line) => line.slice(OUTPUT_PREFIX.length));
  }

  /** Lines that are neither log lines nor console output: the firmware must print none. */
  strayLines(): string[] {
    return this.lines().filter((line) => !line.startsWith(OUTPUT_PREFIX) && parseLine(line) === undefined);
  }
}
