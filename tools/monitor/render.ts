// How the monitor shows one serial line: coloured by level (errors red, warnings yellow, debug and trace dim,
// console output cyan), and a `diag <code>` failure line followed by the code's likely causes and fixes, from the
// same table that generates docs/troubleshooting.md. What ESP-IDF prints around the firmware is recognised too: the
// ROM's reset line (a reboot, said in one line), ESP-IDF's own log lines (coloured by their level), and a panic
// (`Guru Meditation Error`, `abort()`, its register dump and backtrace) in red, the backtrace followed by the command
// that decodes it when the firmware's ELF file is given.

import type { Code } from "tether/diag/codes";
import { FAILURES } from "tether/diag/failures";
import { parseLine } from "tether/diag/log";
import { PROSE } from "../../scripts/troubleshooting-causes";

const RESET = "\x1b[0m";
/** By level: E W I D T. */
const LEVEL_COLOURS = ["\x1b[1;31m", "\x1b[33m", "", "\x1b[2m", "\x1b[2;36m"];
const CONSOLE = "\x1b[36m";
const EXPANSION = "\x1b[35m";
const PANIC = "\x1b[1;37;41m";
const BOOT = "\x1b[1;34m";
const KNOWN = new Set<string>(FAILURES.map((f) => f.code));
/** Causes shown under a failure line: the most likely ones; docs/troubleshooting.md has them all. */
const CAUSES_SHOWN = 2;
/** ESP-IDF's log letters (E W I D V) to Tether's level colours. */
const IDF_LEVELS: Record<string, number> = { E: 0, W: 1, I: 2, D: 3, V: 4 };

export interface RenderOptions {
  colour: boolean;
  /** The firmware's ELF file: a backtrace is followed by the command that decodes it. */
  elf?: string;
  /** The addr2line of the board's toolchain (default xtensa-esp32-elf-addr2line). */
  addr2line?: string;
}

/** What kind of line it is, for colours and for the filters: Tether's log, console output, ESP-IDF's, or other. */
export type Kind = "log" | "console" | "boot" | "idf" | "panic" | "other";

/** The ROM's first words after a reset: `rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)`. */
const ROM_RESET = /^rst:0x[0-9a-f]+ \(([A-Z0-9_]+)\)/;
/** ESP-IDF's log format: `I (312) wifi: ...` (after its own colour code, see plain()). */
export const IDF_LOG = /^([EWIDV]) \((\d+)\) ([^:]+):/;

/** A line without the colour code ESP-IDF starts its log lines with (`ESC[0;32m`). */
export function plain(line: string): string {
  return line.startsWith("\x1b[") ? line.slice(line.indexOf("m") + 1) : line;
}
/** The lines of a panic report (ESP-IDF's panic handler, on Xtensa and RISC-V chips). */
const PANIC_LINE =
  /^(Guru Meditation Error|abort\(\) was called|assert(ion)? failed|Core {1,2}\d+ register dump|Backtrace:|Stack memory:|\*\*\*ERROR\*\*\* A stack overflow|E \(\d+\) task_wdt:|Rebooting\.\.\.|MEPC {4}:|ELF file SHA256:)/;

export function kindOf(line: string): Kind {
  if (parseLine(line)) return "log";
  if (line.startsWith("| ")) return "console";
  if (ROM_RESET.test(line) || line.startsWith("ets ")) return "boot";
  if (PANIC_LINE.test(line)) return "panic";
  if (IDF_LOG.test(plain(line))) return "idf";
  return "other";
}

/** The program counters of a backtrace line (`Backtrace: 0x400d1234:0x3ffb1230 0x400d5678:0x3ffb1250`). */
export function backtraceAddresses(line: string): string[] {
  if (!line.startsWith("Backtrace:")) return [];
  return [...line.matchAll(/(0x[0-9a-fA-F]{8}):0x[0-9a-fA-F]{8}/g)].map((m) => m[1]!);
}

/** The lines to show for one serial line (without its line ending). */
export function render(line: string, options: RenderOptions | boolean): string[] {
  const {
    colour,
    elf,
    addr2line = "xtensa-esp32-elf-addr2line",
  } = typeof options === "boolean" ? { colour: options } : options;
  const paint = (code: string, text: string) => (colour && code ? `${code}${text}${RESET}` : text);
  const parsed = parseLine(line);
  if (!parsed) {
    const kind = kindOf(line);
    if (kind === "console") return [paint(CONSOLE, line)];
    if (kind === "boot") {
      const reset = ROM_RESET.exec(line);
      return reset ? [paint(BOOT, line), paint(BOOT, `    board reset: ${reset[1]}`)] : [paint(BOOT, line)];
    }
    if (kind === "idf") return [paint(LEVEL_COLOURS[IDF_LEVELS[IDF_LOG.exec(plain(line))![1]!]!]!, plain(line))];
    if (kind !== "panic") return [line];
    const out = [paint(PANIC, line)];
    const addresses = backtraceAddresses(line);
    if (addresses.length) {
      out.push(
        paint(
          EXPANSION,
          elf
            ? `    decode: ${addr2line} -pfiaC -e ${elf} ${addresses.join(" ")}`
            : "    (give --elf FILE, the firmware's ELF, to get the command that decodes this backtrace)",
        ),
      );
    }
    return out;
  }
  const out = [paint(LEVEL_COLOURS[parsed.level]!, line)];
  if (parsed.area === "app" && parsed.event === "boot") out.unshift(paint(BOOT, "    ---- the firmware boots ----"));
  if (parsed.area === "diag" && parsed.suppressed === undefined && KNOWN.has(parsed.event)) {
    const prose = PROSE[parsed.event as Code];
    out.push(paint(EXPANSION, `    ${parsed.event}: ${prose.summary}`));
    for (const { cause, fix } of prose.causes.slice(0, CAUSES_SHOWN)) {
      out.push(paint(EXPANSION, `      cause: ${cause} fix: ${fix}`));
    }
  }
  return out;
}
