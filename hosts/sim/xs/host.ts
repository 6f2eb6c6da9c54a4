/// <reference path="./xsnap.d.ts" />
// The simulator's Host, inside XS. Every member is a synchronous request to the Node process, which owns the
// sockets, timers, storage and serial port; what happens later comes back as an event through handleCommand.
// Small on purpose: it stands in for a device's host layer, the Node side does the work.

import {
  callTimer,
  type Host,
  type HostEvents,
  type NetError,
  type SocketHandlers,
  type TimerCallback,
} from "tether/host";
import {
  EV_CONNECT,
  EV_DATA,
  EV_ERROR,
  EV_LINK,
  EV_LOOKUP,
  EV_RESOLVED,
  EV_SERIAL,
  EV_SHUTDOWN,
  EV_TIMER,
  EV_WRITABLE,
  float64,
  HEADER_SIZE,
  idOf,
  message,
  REQ_BOOT,
  REQ_CLOSE,
  REQ_CONNECT,
  REQ_HEAP,
  REQ_LINK,
  REQ_LISTEN,
  REQ_NOW,
  REQ_RANDOM,
  REQ_RESOLVE,
  REQ_RESTART,
  REQ_SERIAL,
  REQ_SETTING_READ,
  REQ_SETTING_WRITE,
  REQ_TIMER_CLEAR,
  REQ_TIMER_SET,
  REQ_WRITE,
  readFloat64,
} from "./protocol";

export type Firmware = (host: Host, config: Record<string, string>) => void;

type LookupCallback = (address: string | undefined, error?: NetError) => void;

/** Installs the bridge, asks Node for the build-time config and device id, and starts the firmware on the Host. */
export function boot(start: Firmware): void {
  const { TextEncoder, TextDecoder } = globalThis as unknown as XsnapText;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const timers = new Map<number, TimerCallback>();
  const sockets = new Map<number, SocketHandlers>();
  const lookups = new Map<number, LookupCallback>();
  let events: HostEvents | undefined;
  let lastId = 0;

  const request = (op: number, id = 0, payload?: Uint8Array) =>
    new Uint8Array(issueCommand(message(op, id, payload).buffer));
  const json = (value: unknown) => encoder.encode(JSON.stringify(value));
  const parse = (bytes: Uint8Array) => JSON.parse(decoder.decode(bytes));

  const { config, deviceId } = parse(request(REQ_BOOT));
  const host: Host = {
    platform: "sim",
    deviceId,
    now: () => readFloat64(request(REQ_NOW)),
    wallClock: () => Date.now(),
    timer(callback) {
      // The id of the latest schedule (see REQ_TIMER_SET): each one takes a new id.
      let id = 0;
      return {
        schedule(ms) {
          const replaced = timers.delete(id) ? id : 0;
          id = ++lastId;
          timers.set(id, callback);
          request(REQ_TIMER_SET, id, float64(ms, replaced));
        },
        cancel() {
          if (timers.delete(id)) request(REQ_TIMER_CLEAR, id);
        },
      };
    },
    random: () => readFloat64(request(REQ_RANDOM)),
    serialWrite(text) {
      request(REQ_SERIAL, 0, encoder.encode(text));
    },
    listen(handlers) {
      events = handlers;
      request(REQ_LISTEN);
    },
    linkUp: () => request(REQ_LINK)[0] === 1,
    connect(options, handlers) {
      const id = ++lastId;
      sockets.set(id, handlers);
      request(REQ_CONNECT, id, json(options));
      return {
        write: (bytes) => request(REQ_WRITE, id, bytes)[0] === 1,
        close() {
          if (sockets.delete(id)) request(REQ_CLOSE, id);
        },
      };
    },
    resolve(name, callback) {
      const id = ++lastId;
      lookups.set(id, callback);
      request(REQ_RESOLVE, id, encoder.encode(name));
    },
    readSetting(key) {
      const reply = request(REQ_SETTING_READ, 0, encoder.encode(key));
      if (reply.length === 0) return undefined;
      // 2: what is stored is not a string (a device's Preference may hold a number): the reason follows.
      if (reply[0] === 2) throw new TypeError(decoder.decode(reply.subarray(1)));
      return decoder.decode(reply.subarray(1));
    },
    writeSetting(key, value) {
      request(REQ_SETTING_WRITE, 0, json([key, value ?? null]));
    },
    heap: () => parse(request(REQ_HEAP)),
    restart: () => void request(REQ_RESTART),
  };

  // Callbacks are forgotten before they run: a socket error or a fired timer ends that object's life.
  const take = <T>(map: Map<number, T>, id: number) => {
    const value = map.get(id);
    map.delete(id);
    return value;
  };

  globalThis.handleCommand = (buffer) => {
    const bytes = new Uint8Array(buffer);
    const id = idOf(bytes);
    const payload = bytes.subarray(HEADER_SIZE);
    switch (bytes[0]) {
      case EV_TIMER: {
        const callback = take(timers, id);
        if (callback) callTimer(callback);
        break;
      }
      case EV_RESOLVED:
        sockets.get(id)?.onResolved?.(decoder.decode(payload));
        break;
      case EV_CONNECT:
        sockets.get(id)?.onConnect();
        break;
      case EV_DATA:
        sockets.get(id)?.onData(payload);
        break;
      case EV_WRITABLE:
        sockets.get(id)?.onWritable();
        break;
      case EV_ERROR:
        take(sockets, id)?.onError(parse(payload));
        break;
      case EV_LOOKUP: {
        const result = parse(payload);
        take(lookups, id)?.(result.address, result.error);
        break;
      }
      case EV_SERIAL:
        events?.onSerialLine(decoder.decode(payload));
        break;
      case EV_LINK:
        events?.onLink(id === 1);
        break;
      case EV_SHUTDOWN:
        events?.onShutdown();
        break;
    }
    return undefined;
  };

  start(host, config);
}
