/*
 * Moddable's mqttbasic example on Tether: the same application, with one import changed from "mqtt" to
 * "tether-mqtt". It subscribes to <prefix>/in and <prefix>/bulk at QoS 1, answers every message on <prefix>/in on
 * <prefix>/out at QoS 1, counts the messages on <prefix>/bulk, and publishes the time every second. Where Moddable's
 * module stays closed after the broker goes away, this one reconnects and calls onReady again.
 *
 *	mcconfig -m -p esp32 ssid="my network" password="wifi secret" host=broker.local port=1883
 */

import config from "mc/config";
import Client from "tether-mqtt";
import Timer from "timer";

const prefix = config.prefix;
const REPORT_EVERY = 10000;
let bulk = 0;

const mqtt = new Client({
  host: config.host,
  port: Number(config.port),
  id: `example-${Date.now() % 100000}`,
  timeout: 60_000,
});

mqtt.onReady = function () {
  trace("example ready\n");
  this.subscribe(`${prefix}/in`, 1);
  this.subscribe(`${prefix}/bulk`, 1);
  this.publish(`${prefix}/status`, "ready", { quality: 1 });
  this.timer ??= Timer.repeat(() => {
    if (this.connected) this.publish(`${prefix}/date`, Date());
  }, 1000);
};

mqtt.onMessage = function (topic, body) {
  if (topic === `${prefix}/bulk`) {
    if (0 === ++bulk % REPORT_EVERY) trace(`example bulk ${bulk}\n`);
    return;
  }
  const text = String.fromArrayBuffer(body);
  trace(`example received "${topic}": ${text}\n`);
  this.publish(`${prefix}/out`, `echo ${text}`, { quality: 1 });
};

mqtt.onClose = (reason) => {
  trace(`example closed ${reason}\n`);
};
