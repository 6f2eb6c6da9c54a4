// Moddable's preference module (modules/files/preference). On ESP32 it is NVS: domain and key names of at most
// 15 characters, string values of at most 4000 bytes counting the terminating NUL.
declare module "preference" {
  const Preference: {
    set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void;
    get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };

  export { Preference as default };
}
