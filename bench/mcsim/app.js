/*
 * The benchmark application for Moddable's simulator, built twice: on Moddable's own `mqtt` module
 * (bench/mcsim/moddable) and on Tether's drop-in `tether-mqtt` (bench/mcsim/tether). Only the module behind
 * "client" differs. It prints what bench/mcsim.ts measures:
 * - "heap <bytes>" once connected and subscribed, after a forced garbage collection (instrumented builds);
 * - "published <n>" after publishing n QoS 0 messages of `size` bytes, paced at 16 per 20 ms (what the simulator's
 *   socket moves in one turn), so that the same work is done whatever each module does with a full socket; the
 *   publishing starts IDLE ms after the heap line, a quiet window in which the bench measures the idle rate;
 * - "received <n>" every time n messages arrived on bench/<id>/in.
 */
import Client from "client";
import Debug from "debug";
import Instrumentation from "instrumentation";
import config from "mc/config";
import Timer from "timer";

const count = Number(config.count);
const id = config.id;
const payload = new Uint8Array(Number(config.size)).fill(97).buffer;
const PACE = 16;
const IDLE = 2500;
let received = 0;

const mqtt = new Client({ host: config.host, port: Number(config.port), id, timeout: 60_000 });

function heap() {
  Debug.gc();
  return (
    Instrumentation.get(Instrumentation.map("XS Slot Heap Used")) +
    Instrumentation.get(Instrumentation.map("XS Chunk Heap Used"))
  );
}

function publishAll() {
  let sent = 0;
  const timer = Timer.repeat(() => {
    for (let i = 0; i < PACE && sent < count; i++, sent++) mqtt.publish(`bench/${id}/out`, payload);
    if (sent === count) {
      Timer.clear(timer);
      trace(`published ${count}\n`);
    }
  }, 20);
}

mqtt.onReady = function () {
  this.subscribe(`bench/${id}/in`);
  // The SUBACK has had time to arrive when the first timer fires.
  Timer.set(() => {
    trace(`heap ${heap()}\n`);
    Timer.set(publishAll, IDLE);
  }, 500);
};

mqtt.onMessage = () => {
  if (++received === count) {
    trace(`received ${received}\n`);
    received = 0;
  }
};

mqtt.onClose = () => {
  trace("closed\n");
};
