/*
 * The firmware for bench/mcsim.ts: the repository's main module (mapped here as "tether-firmware"), built with the
 * settings the bench passes as config, and every second the XS heap in use after a forced garbage collection
 * ("heap <bytes>"), which the bench reads once the firmware is connected and subscribed. This module and its
 * timer are all the build adds to the firmware.
 */
import "tether-firmware";
import Debug from "debug";
import Instrumentation from "instrumentation";
import Timer from "timer";

const slots = Instrumentation.map("XS Slot Heap Used");
const chunks = Instrumentation.map("XS Chunk Heap Used");
Timer.repeat(() => {
  Debug.gc();
  trace(`heap ${Instrumentation.get(slots) + Instrumentation.get(chunks)}\n`);
}, 1000);
