// Moddable's Resource module (modules/files/resource): read-only bytes built into the firmware.
declare module "Resource" {
  class Resource {
    constructor(path: string);
    readonly byteLength: number;
    static exists(path: string): boolean;
  }

  export { Resource as default };
}
