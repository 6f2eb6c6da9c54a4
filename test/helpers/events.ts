// Waiting for one event, with a timeout: what tests do instead of sleeping.
import type { EventEmitter } from "node:events";

/**
 * The next `name` event of `target` (its first argument), or a rejection after `ms`. Typed loosely: MQTT.js's
 * clients are node EventEmitters at run time, but their typed-emitter declaration is not assignable to one.
 */
export function next<T = unknown>(target: object, name: string, ms = 20000): Promise<T> {
  const emitter = target as EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no "${name}" within ${ms} ms`));
    }, ms);
    const listener = (value: T) => {
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}

/** Resolves once `condition` holds (checked every 10 ms), or rejects after `ms`: for state no event announces. */
export async function until(condition: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once `text()` (what `stream` has delivered so far) matches `pattern`, checked on every chunk. */
export function untilOutput(
  stream: NodeJS.ReadableStream,
  text: () => string,
  pattern: RegExp,
  ms = 20000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off("data", check);
      reject(new Error(`never saw ${pattern}; got:\n${text().slice(-1500)}`));
    }, ms);
    const check = () => {
      if (!pattern.test(text())) return;
      clearTimeout(timer);
      stream.off("data", check);
      resolve();
    };
    stream.on("data", check);
    check();
  });
}
