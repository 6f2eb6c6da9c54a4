// The MQTT client the benchmark application uses: Moddable's own module.
export { default } from "mqtt";
