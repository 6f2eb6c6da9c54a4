// A host timer on Node's event loop, shared by the simulator's device and the bench's Node host.

/**
 * Runs `callback` once after `ms`; returns what cancels it. A timer of 0 ms runs on the next turn of the event loop
 * (setImmediate), as Moddable's Timer.set(callback, 0) does: Node's setTimeout makes every delay at least 1 ms, a
 * floor under anything that answers through a timer (the drop-in Client's callbacks), a thousand a second at most.
 */
export function armTimer(callback: () => void, ms: number): () => void {
  if (ms > 0) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  }
  const handle = setImmediate(callback);
  return () => clearImmediate(handle);
}
