// Host.readSetting / writeSetting over Moddable's Preference, within NVS's limits (hosts/moddable/nvs).

import { settingProblem, storageKey } from "hosts/moddable/nvs";
import { mayBeStored } from "hosts/moddable/stored";
import Preference from "preference";

const DOMAIN = "tether";

/** The value saved under `name`; throws when what is saved there is not a string, so the firmware names it. */
export function readSetting(name: string): string | undefined {
  // Checked one type at a time: mcconfig's TypeScript settings do not narrow `undefined || string` in one test.
  const key = storageKey(name);
  if (!mayBeStored(DOMAIN, key)) return undefined;
  const value: unknown = Preference.get(DOMAIN, key);
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
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
