// Whether Preference holds a setting, asked before reading it (hosts/moddable/settings), in Moddable's simulator.
// There Preference is a JavaScript object, and every name it is asked for becomes a property key that XS keeps for
// good (some 50 B each on 64-bit), stored or not. The firmware asks at boot for some 100 names a device has mostly
// never stored (the history's and the session's slots): only the names Preference holds are asked for, so that the
// simulator's heap keeps, as an ESP32's does, nothing for the others.
import Preference from "preference";

export function mayBeStored(domain: string, key: string): boolean {
  return Preference.keys(domain).includes(key);
}
