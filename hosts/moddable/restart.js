// The ESP32's reset, for the console's `reboot` (hosts/moddable/restart.c).
function restart() @ "xs_tether_restart";

export default restart;
