// The simulated device's non-volatile storage (Preference on a device): string values in a JSON file, written
// through on every change so that it survives a restart of the device or of the simulator. In memory without a file.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export class Storage {
  private readonly values: Record<string, string>;

  constructor(private readonly file?: string) {
    this.values = file && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  }

  read(key: string): string | undefined {
    return Object.hasOwn(this.values, key) ? this.values[key] : undefined;
  }

  write(key: string, value: string | undefined): void {
    if (value === undefined) delete this.values[key];
    else this.values[key] = value;
    if (!this.file) return;
    // Written aside then renamed, so a simulator killed mid-write leaves the old file, like flash would.
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.values, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
