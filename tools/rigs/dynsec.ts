// mosquitto with its dynamic security plugin, which (unlike an acl_file) tells a client it was denied: SUBACK 0x80 /
// 0x87 for a subscription, PUBACK 0x87 for an MQTT 5 QoS 1 message (see /work/shared/broker-facts.md).

import { type Mosquitto, startMosquitto } from "./mosquitto";

export const DYNSEC = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

/** One denial: what anonymous clients may not do (`subscribePattern`, `publishClientSend`, ...) on which topics. */
export interface Denial {
  acltype: string;
  topic: string;
}

/** A mosquitto where anonymous clients may do anything but what `denials` name. */
export function startDynsec(denials: Denial[]): Promise<Mosquitto> {
  const policy = {
    defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
    clients: [],
    groups: [{ groupname: "anon", roles: [{ rolename: "deny", priority: 0 }], clients: [] }],
    roles: [{ rolename: "deny", acls: denials.map((denial) => ({ ...denial, priority: 0, allow: false })) }],
    anonymousGroup: "anon",
  };
  return startMosquitto({
    config: ["allow_anonymous true", `plugin ${DYNSEC}`, "plugin_opt_config_file dynsec.json"],
    files: { "dynsec.json": JSON.stringify(policy) },
  });
}
