// Whether Preference may hold a setting, asked before reading it (hosts/moddable/settings). On an ESP32 Preference
// reads NVS natively and keeps nothing of a name it is asked for: any name may be asked. The simulator's answer is
// hosts/moddable/sim/stored.ts; the manifest maps one or the other per platform.
export function mayBeStored(_domain: string, _key: string): boolean {
  return true;
}
