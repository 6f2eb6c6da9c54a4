// The simulator's XS entry: the real firmware on the simulator's Host.
import { start } from "tether/app/firmware";
import { boot } from "./host";

boot(start);
