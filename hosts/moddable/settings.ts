// Host.readSetting / writeSetting over Moddable's Preference, within NVS's limits (hosts/moddable/nvs).

import { settingProblem, storageKey } from "hosts/moddable/nvs";
import Preference from "preference";

const DOMAIN = "tether";

/** The value saved under `name`; throws when what is saved there is not a string, so the firmware names it. */
export function readSetting(name: string): string | undefined {
  // Typed as what Preference may hold, so that the check below narrows it for the SDK's tsc too.
  const value: unknown = Preference.get(DOMAIN, storageKey(name));
  if (typeof value === "string") return value;
  if (value === undefined) return undefined;
  throw new TypeError(`not a string but ${value === null ? "null" : typeof value}`);
}

/** Saves `value` (undefined deletes it); throws a RangeError when NVS cannot hold it. */
export function writeSetting(name: string, value: string | undefined): void {
  const key = storageKey(name);
  if (value === undefined) {
    Preference.delete(DOMAIN, key);
    return;
  }
  const problem = settingProblem(name, value);
  if (problem) throw new RangeError(problem);
  Preference.set(DOMAIN, key, value);
}
