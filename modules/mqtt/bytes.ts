// Text to bytes for payloads, without TextEncoder (XS on a device has none). A payload is bytes, not an MQTT
// string: U+0000 is allowed both ways, and a lone surrogate (which UTF-8 cannot carry) is sent as U+FFFD, so that
// any string can be published and nothing that prints a reply can throw.
import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";

export function toBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(utf8Length(text, true));
  writeUtf8(text, bytes, 0, true);
  return bytes;
}

/** The payload as text, or undefined when it is not valid UTF-8. */
export function toText(bytes: Uint8Array): string | undefined {
  return readUtf8(bytes, 0, bytes.length, true);
}

/**
 * A copy of bytes[start..end) in a buffer of its own. ArrayBuffer's slice copies in one native step; a typed array's
 * slice goes byte by byte through the engine's getters and setters in some XS versions (xsnap's), and is what is
 * left for bytes over a buffer without slice (Moddable's HostBuffer, memory mapped from flash).
 */
export function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  // Moddable's HostBuffer has no slice: checked here rather than typed.
  const buffer = bytes.buffer as ArrayBuffer;
  if (typeof buffer.slice !== "function") return bytes.slice(start, end);
  const at = bytes.byteOffset;
  return new Uint8Array(buffer.slice(at + start, at + end));
}
