// MQTT UTF-8 strings (MQTT 5.0 spec 1.5.4, 3.1.1 spec 1.5.3): well-formed UTF-8 without surrogates and without
// U+0000. XS on a device has no TextEncoder, and the codec needs the checks anyway, so this is done by hand.
//
// What we send is held to what brokers accept, which is more than the spec's MUSTs: mosquitto treats a string with
// a control character (U+0001..U+001F, U+007F..U+009F) or a non-character (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF) as
// malformed and drops the connection (1.5.4: "SHOULD NOT"; [MQTT-1.5.4-2] lets a receiver do so). A message sent
// with one would be sent again at every reconnect and dropped again: a loop. What we receive is held to the MUSTs
// only (readUtf8): refusing what a broker delivered would have it delivered again, at every reconnect.
//
// Payload text (`text` true) is looser, as a payload is bytes, not an MQTT string: U+0000 is an ordinary character,
// and a lone surrogate, which no UTF-8 can carry, is written as U+FFFD (what TextEncoder does), so any JavaScript
// string can be sent.

/**
 * Most code units passed to one String.fromCharCode: apply() puts every argument on the engine's stack, which holds
 * a few hundred slots on a device (xsnap overflows at about 3,800). Chunks are joined once at the end: adding each
 * to a growing string would copy it again every time.
 */
const CHUNK = 128;

/**
 * Strings longer than this are walked with their iterator: XS keeps strings as UTF-8 and finds `s.codePointAt(i)` by
 * scanning from the start, so an indexed loop takes time quadratic in the length (seconds for a 64 KB topic on a
 * desktop). Shorter ones are indexed, as the iterator allocates a string per character.
 */
const SHORT = 64;

/** Whether a broker refuses code point `c` in a string (see above; a lone surrogate is not a code point here). */
export function refused(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe;
}

/** UTF-8 bytes of code point `c` (a lone surrogate as U+FFFD in `text`), or -1 when a broker would refuse it. */
function width(c: number, text: boolean): number {
  if (!text && refused(c)) return -1;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdfff) return text ? 3 : -1;
  return c < 0x10000 ? 3 : 4;
}

/**
 * Byte length of `s` in UTF-8, or -1 when a broker would refuse it (a lone surrogate, a control character or a
 * non-character, see above). As payload `text`, never -1.
 */
export function utf8Length(s: string, text = false): number {
  const n = s.length;
  // One byte per code unit, plus what the others need beyond it.
  let bytes = n;
  if (n <= SHORT) {
    for (let i = 0; i < n; i++) {
      // Printable ASCII inline: a call per character costs XS more than the rest of the loop.
      const u = s.charCodeAt(i);
      if (u > 0x1f && u < 0x7f) continue;
      const c = s.codePointAt(i) as number;
      const w = width(c, text);
      if (w < 0) return -1;
      bytes += w - 1;
      if (c > 0xffff) {
        bytes--;
        i++;
      }
    }
  } else {
    for (const ch of s) {
      const u = ch.charCodeAt(0);
      if (u > 0x1f && u < 0x7f) continue;
      const w = width(ch.codePointAt(0) as number, text);
      if (w < 0) return -1;
      bytes += w - ch.length;
    }
  }
  return bytes;
}

/**
 * Why a broker would refuse `s` as an MQTT string: its first such character, in words (`a control character U+0001
 * at character 4`), or undefined when there is none. For messages only: utf8Length is the check.
 */
export function badCharacter(s: string): string | undefined {
  let at = 1;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    const what =
      c >= 0xd800 && c <= 0xdfff
        ? "a lone surrogate"
        : refused(c)
          ? c < 0xa0
            ? "a control character"
            : "a non-character"
          : "";
    if (what) return `${what} U+${c.toString(16).toUpperCase().padStart(4, "0")} at character ${at}`;
    at++;
  }
  return undefined;
}

/**
 * Writes `s` as UTF-8 into `buf` at `offset` and returns the offset after it, or -1 when a broker would refuse the
 * string (see utf8Length; as payload `text`, never). The caller guarantees room: at most 3 bytes per
 * code unit.
 */
export function writeUtf8(s: string, buf: Uint8Array, offset: number, text = false): number {
  const n = s.length;
  let p = offset;
  if (n <= SHORT) {
    for (let i = 0; i < n; i++) {
      const u = s.charCodeAt(i);
      if (u > 0x1f && u < 0x7f) buf[p++] = u;
      else {
        const c = s.codePointAt(i) as number;
        p = put(c, buf, p, text);
        if (p < 0) return -1;
        if (c > 0xffff) i++;
      }
    }
  } else {
    for (const ch of s) {
      const u = ch.charCodeAt(0);
      if (u > 0x1f && u < 0x7f) buf[p++] = u;
      else {
        p = put(ch.codePointAt(0) as number, buf, p, text);
        if (p < 0) return -1;
      }
    }
  }
  return p;
}

/** Writes code point `c` at `p`; returns the offset after it, or -1 (see width). */
function put(c: number, buf: Uint8Array, p: number, text: boolean): number {
  if (!text && refused(c)) return -1;
  if (c < 0x80) {
    buf[p++] = c;
  } else if (c < 0x800) {
    buf[p++] = 0xc0 | (c >> 6);
    buf[p++] = 0x80 | (c & 0x3f);
  } else if (c >= 0xd800 && c <= 0xdfff) {
    if (!text) return -1;
    buf[p++] = 0xef; // U+FFFD
    buf[p++] = 0xbf;
    buf[p++] = 0xbd;
  } else if (c < 0x10000) {
    buf[p++] = 0xe0 | (c >> 12);
    buf[p++] = 0x80 | ((c >> 6) & 0x3f);
    buf[p++] = 0x80 | (c & 0x3f);
  } else {
    buf[p++] = 0xf0 | (c >> 18);
    buf[p++] = 0x80 | ((c >> 12) & 0x3f);
    buf[p++] = 0x80 | ((c >> 6) & 0x3f);
    buf[p++] = 0x80 | (c & 0x3f);
  }
  return p;
}

/**
 * Decodes and validates `buf[start..end)`. Returns undefined for anything MQTT forbids: ill-formed or overlong
 * sequences, encoded surrogates, code points above U+10FFFF, U+0000 (allowed in payload `text`).
 */
export function readUtf8(buf: Uint8Array, start: number, end: number, text = false): string | undefined {
  const nul = text ? -1 : 0;
  let i = asciiEnd(buf, start, end, text);
  if (i === end) return latin1(buf, start, end);
  if (buf[i] === nul) return undefined;
  // Not pure ASCII: collect UTF-16 code units (never more than bytes), then build the string in a few calls.
  const units = new Uint16Array(end - start);
  let u = i - start;
  units.set(buf.subarray(start, i));
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      if (b === nul) return undefined;
      units[u++] = b;
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
    if (c < 0x10000) units[u++] = c;
    else {
      units[u++] = 0xd800 + ((c - 0x10000) >> 10);
      units[u++] = 0xdc00 + (c & 0x3ff);
    }
  }
  return fromCodes(units.subarray(0, u));
}

/**
 * Where the ASCII at buf[start..end) ends (U+0000 ends it too, unless allowed in `text`): `end` when all of it is,
 * and then its UTF-8 string is its Latin-1 one.
 */
export function asciiEnd(buf: Uint8Array, start: number, end: number, text = false): number {
  const nul = text ? -1 : 0;
  let i = start;
  while (i < end && buf[i] < 0x80 && buf[i] !== nul) i++;
  return i;
}

/** buf[start..end) read as Latin-1 (one character per byte): the same string as UTF-8 for ASCII bytes. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const codes = buf.subarray(start, end);
  // A topic, mostly: one call fits it (see fromCodes).
  return end - start <= CHUNK ? String.fromCharCode.apply(null, codes as unknown as number[]) : fromCodes(codes);
}

/** The string of these UTF-16 code units, in chunks of CHUNK (see there). */
function fromCodes(codes: Uint8Array | Uint16Array): string {
  const n = codes.length;
  // apply() takes any array-like: typed arrays are passed as they are.
  if (n <= CHUNK) return String.fromCharCode.apply(null, codes as unknown as number[]);
  const parts: string[] = [];
  for (let k = 0; k < n; k += CHUNK) {
    parts.push(String.fromCharCode.apply(null, codes.subarray(k, k + CHUNK) as unknown as number[]));
  }
  return parts.join("");
}
