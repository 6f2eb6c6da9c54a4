// The MQTT client the benchmark application uses: Tether's drop-in.
export { default } from "tether-mqtt";
