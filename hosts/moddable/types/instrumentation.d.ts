// Moddable's instrumentation module (modules/base/instrumentation): counters by number, whose numbering depends on
// the platform (modInstrumentation.h); undefined in builds without instrumentation (release builds).
declare module "instrumentation" {
  const Instrumentation: {
    get(what: number): number;
  };

  export { Instrumentation as default };
}
