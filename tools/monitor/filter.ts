// Which lines the monitor shows: `--level W` keeps Tether's log lines at that level or more severe (ESP-IDF's own
// log lines by their letter), `--area mqtt,diag` keeps log lines of those areas. Console output, reset lines and
// panics are always shown: they answer what was typed, or say the board went down. The saved log keeps everything.

import { LEVEL_NAMES, type Level, levelFromName, parseLine } from "tether/diag/log";
import { IDF_LOG, plain } from "./render";

export interface Filter {
  /** The least severe level shown. */
  level?: Level;
  /** Areas shown; undefined: all. */
  areas?: ReadonlySet<string>;
}

const LETTERS = "EWIDT";
const IDF_LETTERS = "EWIDV";

/** `W`, `warn` or `warning` to a level; undefined for anything else. */
export function parseLevel(text: string): Level | undefined {
  const letter = LETTERS.indexOf(text.toUpperCase());
  if (text.length === 1 && letter >= 0) return letter as Level;
  return levelFromName(text.toLowerCase() === "warning" ? "warn" : text.toLowerCase());
}

export const LEVEL_CHOICES = `${LETTERS.split("").join("|")} or ${LEVEL_NAMES.join("|")}`;

export function shown(line: string, filter: Filter): boolean {
  if (filter.level === undefined && filter.areas === undefined) return true;
  const parsed = parseLine(line);
  if (parsed) {
    if (filter.level !== undefined && parsed.level > filter.level) return false;
    return filter.areas === undefined || filter.areas.has(parsed.area);
  }
  // ESP-IDF's log lines have a level and a tag, not one of Tether's areas: the level filter alone applies.
  const idf = IDF_LOG.exec(plain(line));
  if (idf && filter.level !== undefined) return IDF_LETTERS.indexOf(idf[1]!) <= filter.level;
  return true;
}
