// The globals xsnap-worker gives a script, as far as the simulator's XS half uses them (see xsnap-worker.c).

/** Sends bytes to the Node process and blocks until it answers. */
declare function issueCommand(request: ArrayBuffer): ArrayBuffer;

/** Called by the worker for each command Node sends; an ArrayBuffer result is the reply. */
declare var handleCommand: ((command: ArrayBuffer) => ArrayBuffer | undefined) | undefined;

/**
 * xsnap also installs TextEncoder and TextDecoder. They are reached through this type rather than declared as
 * globals because Node's types declare those globals too, and a Node-side test may compile this folder.
 */
interface XsnapText {
  TextEncoder: new () => { encode(text: string): Uint8Array };
  TextDecoder: new () => { decode(bytes: Uint8Array): string };
}
