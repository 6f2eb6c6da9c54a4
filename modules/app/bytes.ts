// Text to bytes for payloads, without TextEncoder (XS on a device has none).
import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";

export function toBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(utf8Length(text));
  writeUtf8(text, bytes, 0);
  return bytes;
}

/** The payload as text, or undefined when it is not valid UTF-8. */
export function toText(bytes: Uint8Array): string | undefined {
  return readUtf8(bytes, 0, bytes.length);
}
