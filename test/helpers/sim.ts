// Conveniences for tests that run simulated devices. simDevices() registers an afterEach that kills every device
// the test started and removes its temporary files, whether the test passed or not.
//
//   const devices = simDevices();
//   test("...", async () => {
//     const device = await devices.start({ broker: mosquitto.url, config: { clientId: "t1" } });
//     await device.waitForSerial(/connected/);
//   });

import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { SimDevice, type SimDeviceOptions } from "../../hosts/sim/node/device";

export interface DeviceStart extends Partial<SimDeviceOptions> {
  /** Sets the `broker` setting, e.g. `mqtt://127.0.0.1:1883`. */
  broker?: string;
}

export interface SimDevices {
  /** Boots a device (the real firmware unless `entry` says otherwise); it is killed after the test. */
  start(options?: DeviceStart): Promise<SimDevice>;
  /** A fresh storage file path, for a device that must keep its storage across restarts within the test. */
  storageFile(): string;
}

export function simDevices(): SimDevices {
  const devices: SimDevice[] = [];
  const folders: string[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((device) => device.kill()));
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });
  return {
    async start({ broker, config, ...options } = {}) {
      // The firmware without a power-on spread unless a test asks: a test waits for its device, not for a fleet's
      // window. Other entries get their config as given.
      const fleet: Record<string, string> = options.entry === undefined ? { backoffSpread: "0" } : {};
      const device = await SimDevice.start({
        ...options,
        config: { ...fleet, ...(broker ? { broker } : {}), ...config },
      });
      devices.push(device);
      return device;
    },
    storageFile() {
      const folder = mkdtempSync(join(tmpdir(), "tether-storage-"));
      folders.push(folder);
      return join(folder, "storage.json");
    },
  };
}

export interface UnansweredListener {
  port: number;
  close(): Promise<void>;
}

// Runs in a worker thread that blocks right after listen(), so nothing ever accepts: once the kernel's accept queue
// is full, further SYNs are dropped and a connect to this port times out, as to a host that does not answer.
const UNANSWERED = `
const { parentPort, workerData } = require("node:worker_threads");
const server = require("node:net").createServer();
server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  const release = new Int32Array(workerData);
  while (Atomics.load(release, 0) === 0) Atomics.wait(release, 0, 0, 1000);
  process.exit(0);
});`;

/** A loopback port where connects time out for real (see /work/shared/broker-facts.md). */
export async function startUnansweredListener(): Promise<UnansweredListener> {
  const release = new SharedArrayBuffer(4);
  const worker = new Worker(UNANSWERED, { eval: true, workerData: release });
  const [port] = (await once(worker, "message")) as [number];
  // Fill the accept queue (its length depends on the kernel): stop at the first connect that does not complete.
  const fillers: Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const filler = connect(port, "127.0.0.1");
    filler.on("error", () => {});
    fillers.push(filler);
    const connected = await Promise.race([
      once(filler, "connect").then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300)),
    ]);
    if (!connected) break;
  }
  return {
    port,
    async close() {
      for (const filler of fillers) filler.destroy();
      const flag = new Int32Array(release);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await once(worker, "exit");
    },
  };
}
