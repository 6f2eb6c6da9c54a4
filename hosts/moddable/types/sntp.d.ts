// Moddable's sntp module (modules/network/sntp): message 1 delivers the time in seconds since the epoch,
// 2 says it is retrying, -1 that it gave up.
declare module "sntp" {
  class SNTP {
    constructor(options: { host: string }, callback: (message: number, value?: number) => void);
  }

  export { SNTP as default };
}
