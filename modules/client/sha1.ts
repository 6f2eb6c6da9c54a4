// SHA-1 (FIPS 180-4) and base64, for one job: the Sec-WebSocket-Accept check of a WebSocket upgrade (RFC 6455
// 4.2.2), once per connection. SHA-1 is not used for security here (RFC 6455 10.3: the value only proves the server
// read the request as a WebSocket one). Plain ES: XS on a device has no crypto.subtle and no btoa.

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The 20-byte SHA-1 digest of `bytes`. */
export function sha1(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  // The message, a 1 bit, zeros and the 64-bit bit length, as 32-bit big-endian words, in 16-word blocks.
  const blocks = ((n + 8) >> 6) + 1;
  const w = new Uint32Array(blocks * 16);
  for (let i = 0; i < n; i++) w[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
  w[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
  w[blocks * 16 - 2] = Math.floor(n / 0x20000000);
  w[blocks * 16 - 1] = (n * 8) >>> 0;
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const x = new Uint32Array(80);
  for (let b = 0; b < blocks * 16; b += 16) {
    for (let t = 0; t < 16; t++) x[t] = w[b + t];
    for (let t = 16; t < 80; t++) {
      const v = x[t - 3] ^ x[t - 8] ^ x[t - 14] ^ x[t - 16];
      x[t] = (v << 1) | (v >>> 31);
    }
    let a = h0;
    let bb = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (bb & c) | (~bb & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = bb ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (bb & c) | (bb & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = bb ^ c ^ d;
        k = 0xca62c1d6;
      }
      const next = (((a << 5) | (a >>> 27)) + f + e + k + x[t]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = next;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  const out = new Uint8Array(20);
  const h = [h0, h1, h2, h3, h4];
  for (let i = 0; i < 5; i++) {
    out[i * 4] = h[i] >>> 24;
    out[i * 4 + 1] = h[i] >>> 16;
    out[i * 4 + 2] = h[i] >>> 8;
    out[i * 4 + 3] = h[i];
  }
  return out;
}

/** Standard base64 (RFC 4648 section 4, with padding) of a few bytes: parts joined once. */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const n = bytes.length;
  for (let i = 0; i < n; i += 3) {
    const v = (bytes[i] << 16) | ((i + 1 < n ? bytes[i + 1] : 0) << 8) | (i + 2 < n ? bytes[i + 2] : 0);
    parts.push(
      BASE64[v >> 18],
      BASE64[(v >> 12) & 63],
      i + 1 < n ? BASE64[(v >> 6) & 63] : "=",
      i + 2 < n ? BASE64[v & 63] : "=",
    );
  }
  return parts.join("");
}
