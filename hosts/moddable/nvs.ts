// NVS's limits, which Moddable's Preference inherits on ESP32: names of at most 15 characters, NUL-terminated
// string values of at most 4000 bytes. Longer names are folded into a short stable one; values that might not fit
// are refused with a message naming the setting (never its value, which may be a secret).
const NAME_MAX = 15;
/** 3999 bytes of UTF-8 hold any string of this many UTF-16 code units (3 bytes each at most). */
export const VALUE_CHARS_MAX = 1333;

/** The NVS key for a setting: the name itself when it fits, else its first 7 characters, "~" and a hash. */
export function storageKey(name: string): string {
  if (name.length <= NAME_MAX) return name;
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return `${name.slice(0, 7)}~${(hash >>> 0).toString(36)}`;
}

/** Why `value` cannot be saved under `name`, or undefined when it can. */
export function settingProblem(name: string, value: string): string | undefined {
  if (value.length > VALUE_CHARS_MAX)
    return `setting ${name} is too long to save (${VALUE_CHARS_MAX} characters at most)`;
  if (value.includes("\0")) return `setting ${name} cannot be saved: it contains a NUL character`;
  return undefined;
}
