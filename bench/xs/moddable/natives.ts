// ArrayBuffer.fromString and String.fromArrayBuffer: built into the SDK's XS, which Moddable's `mqtt` module calls
// (a topic each message), and left out of xsnap's, which is built for CESU-8 strings. Here they are xsnap's native
// TextEncoder and TextDecoder behind one call each: a few computrons a message more than on a device, counted
// against Moddable's module.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function installNatives(): void {
  const buffers = ArrayBuffer as unknown as { fromString?: (text: string) => ArrayBuffer };
  const strings = String as unknown as { fromArrayBuffer?: (bytes: ArrayBuffer) => string };
  buffers.fromString ??= (text) => encoder.encode(text).buffer as ArrayBuffer;
  strings.fromArrayBuffer ??= (bytes) => decoder.decode(bytes);
}
