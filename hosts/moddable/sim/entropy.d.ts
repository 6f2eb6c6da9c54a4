// hosts/moddable/sim/entropy.js: uniform in [0, 1), 53 random bits from the operating system.
declare module "hosts/moddable/entropy" {
  function entropy(): number;
  export default entropy;
}
