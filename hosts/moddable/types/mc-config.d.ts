// The manifest's `config`, with the values given on the mcconfig command line; generated and frozen by mcconfig.
declare module "mc/config" {
  const config: Record<string, unknown>;

  export { config as default };
}
