// hosts/moddable/restart.js: restarts the ESP32 at once (esp_restart()).
declare module "hosts/moddable/restart" {
  function restart(): void;
  export default restart;
}
