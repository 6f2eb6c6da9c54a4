import { readUtf8, utf8Length, writeUtf8 } from "tether/mqtt/utf8";
function toBytes(text) {
  const bytes = new Uint8Array(utf8Length(text));
  writeUtf8(text, bytes, 0);
  return bytes;
}
function toText(bytes) {
  return readUtf8(bytes, 0, bytes.length);
}
export {
  toBytes,
  toText
};
