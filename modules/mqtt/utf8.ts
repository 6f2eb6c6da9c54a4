// MQTT UTF-8 strings (MQTT 5.0 spec 1.5.4, 3.1.1 spec 1.5.3): well-formed UTF-8 without surrogates and without
// U+0000. XS on a device has no TextEncoder, and the codec needs the checks anyway, so this is done by hand.

/** Longest run of code units passed to String.fromCharCode at once (engines cap the argument count). */
const CHUNK = 4096;

/**
 * Byte length of `s` in UTF-8, or -1 when MQTT cannot carry it (a lone surrogate or U+0000).
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return -1;
    } else if (c < 0x800) bytes += 1;
    else if (c < 0xd800 || c > 0xdfff) bytes += 2;
    else if (c < 0xdc00 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A pair: 4 bytes for 2 code units.
      bytes += 2;
      i++;
    } else return -1;
  }
  return bytes;
}

/**
 * Writes `s` as UTF-8 into `buf` at `offset` and returns the offset after it, or -1 when MQTT cannot carry the
 * string (a lone surrogate or U+0000). The caller guarantees room: at most 3 bytes per code unit.
 */
export function writeUtf8(s: string, buf: Uint8Array, offset: number): number {
  const n = s.length;
  let p = offset;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return -1;
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c >= 0xdc00 || (d & 0xfc00) !== 0xdc00) return -1;
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
      buf[p++] = 0xf0 | (c >> 18);
      buf[p++] = 0x80 | ((c >> 12) & 0x3f);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/**
 * Decodes and validates `buf[start..end)`. Returns undefined for anything MQTT forbids: ill-formed or overlong
 * sequences, encoded surrogates, code points above U+10FFFF, U+0000.
 */
export function readUtf8(buf: Uint8Array, start: number, end: number): string | undefined {
  let i = start;
  while (i < end && buf[i] < 0x80 && buf[i] !== 0) i++;
  if (i === end) return fromCodes(buf.subarray(start, end));
  if (buf[i] === 0) return undefined;
  // Not pure ASCII: collect UTF-16 code units, then build the string in a few calls.
  const units: number[] = [];
  for (let k = start; k < i; k++) units.push(buf[k]);
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      if (b === 0) return undefined;
      units.push(b);
      i++;
      continue;
    }
    // Lead byte: how many continuation bytes follow and the bounds of the first one (which rule out overlongs,
    // surrogates and values above U+10FFFF, as in the Unicode table of well-formed byte sequences).
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    let c: number;
    if (b >= 0xc2 && b <= 0xdf) {
      more = 1;
      c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      c = b & 0x0f;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      c = b & 0x07;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return undefined;
    if (i + more >= end) return undefined;
    const b1 = buf[i + 1];
    if (b1 < lo || b1 > hi) return undefined;
    c = (c << 6) | (b1 & 0x3f);
    for (let k = 2; k <= more; k++) {
      const bk = buf[i + k];
      if ((bk & 0xc0) !== 0x80) return undefined;
      c = (c << 6) | (bk & 0x3f);
    }
    i += more + 1;
    if (c < 0x10000) units.push(c);
    else units.push(0xd800 + ((c - 0x10000) >> 10), 0xdc00 + (c & 0x3ff));
  }
  return fromCodes(units);
}

function fromCodes(codes: Uint8Array | number[]): string {
  const n = codes.length;
  if (n <= CHUNK) return String.fromCharCode.apply(null, codes as number[]);
  let s = "";
  for (let k = 0; k < n; k += CHUNK) s += String.fromCharCode.apply(null, codes.slice(k, k + CHUNK) as number[]);
  return s;
}
