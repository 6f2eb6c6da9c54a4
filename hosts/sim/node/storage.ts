// The simulated device's non-volatile storage (Preference on a device): string values in a JSON file, written
// through on every change so that it survives a restart of the device or of the simulator. In memory without a file.
//
// Read defensively, as a device reads a flash that may hold anything: a file that does not parse, or holds no
// object, is moved aside (`<file>.bad`, nothing is lost) and the device starts with empty storage, which `problem`
// says; a value that is not a string is kept out and reading it throws, so that the firmware names it
// (`E app storage_error name=...`) and removes it.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export class Storage {
  private readonly values = new Map<string, string>();
  /** Keys whose stored value is not a string, with what it is. */
  private readonly unreadable = new Map<string, string>();
  /** What was wrong with the file as a whole, once, for the simulator to say; undefined when nothing was. */
  readonly problem: string | undefined;

  constructor(private readonly file?: string) {
    if (!file || !existsSync(file)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      this.problem = `does not parse (${(error as Error).message})`;
    }
    if (this.problem === undefined && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))) {
      this.problem = `holds ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed}, not an object`;
    }
    if (this.problem !== undefined) {
      renameSync(file, `${file}.bad`);
      this.problem = `${file} ${this.problem}: moved to ${file}.bad, starting with empty storage`;
      return;
    }
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === "string") this.values.set(key, value);
      else this.unreadable.set(key, `not a string but ${value === null ? "null" : typeof value}`);
    }
  }

  /** The value under `key`; throws when what is stored there is not a string. */
  read(key: string): string | undefined {
    const why = this.unreadable.get(key);
    if (why !== undefined) throw new TypeError(why);
    return this.values.get(key);
  }

  write(key: string, value: string | undefined): void {
    this.unreadable.delete(key);
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    if (!this.file) return;
    // Written aside then renamed, so a simulator killed mid-write leaves the old file, like flash would. Values that
    // are not strings stay in the file until the firmware removes them.
    const kept: Record<string, unknown> = Object.fromEntries(this.values);
    if (this.unreadable.size) Object.assign(kept, this.stored());
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(kept, null, 2)}\n`);
    renameSync(temporary, this.file);
  }

  /** The unreadable values as the file holds them. */
  private stored(): Record<string, unknown> {
    const all = JSON.parse(readFileSync(this.file!, "utf8")) as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    for (const key of this.unreadable.keys()) kept[key] = all[key];
    return kept;
  }
}
