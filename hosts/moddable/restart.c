// xs_tether_restart: the ESP32 restarts, as its reset button would restart it.
#include "xsmc.h"
#include "esp_system.h"

void xs_tether_restart(xsMachine *the)
{
	esp_restart();
}
