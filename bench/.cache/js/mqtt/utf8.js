const CHUNK = 4096;
function utf8Length(s) {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if (c === 0) return -1;
    } else if (c < 2048) bytes += 1;
    else if (c < 55296 || c > 57343) bytes += 2;
    else if (c < 56320 && i + 1 < n && (s.charCodeAt(i + 1) & 64512) === 56320) {
      bytes += 2;
      i++;
    } else return -1;
  }
  return bytes;
}
function writeUtf8(s, buf, offset) {
  const n = s.length;
  let p = offset;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 128) {
      if (c === 0) return -1;
      buf[p++] = c;
    } else if (c < 2048) {
      buf[p++] = 192 | c >> 6;
      buf[p++] = 128 | c & 63;
    } else if (c < 55296 || c > 57343) {
      buf[p++] = 224 | c >> 12;
      buf[p++] = 128 | c >> 6 & 63;
      buf[p++] = 128 | c & 63;
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c >= 56320 || (d & 64512) !== 56320) return -1;
      c = 65536 + (c - 55296 << 10) + (d - 56320);
      i++;
      buf[p++] = 240 | c >> 18;
      buf[p++] = 128 | c >> 12 & 63;
      buf[p++] = 128 | c >> 6 & 63;
      buf[p++] = 128 | c & 63;
    }
  }
  return p;
}
function readUtf8(buf, start, end) {
  let i = start;
  while (i < end && buf[i] < 128 && buf[i] !== 0) i++;
  if (i === end) return fromCodes(buf.subarray(start, end));
  if (buf[i] === 0) return void 0;
  const units = [];
  for (let k = start; k < i; k++) units.push(buf[k]);
  while (i < end) {
    const b = buf[i];
    if (b < 128) {
      if (b === 0) return void 0;
      units.push(b);
      i++;
      continue;
    }
    let more;
    let lo = 128;
    let hi = 191;
    let c;
    if (b >= 194 && b <= 223) {
      more = 1;
      c = b & 31;
    } else if (b >= 224 && b <= 239) {
      more = 2;
      c = b & 15;
      if (b === 224) lo = 160;
      else if (b === 237) hi = 159;
    } else if (b >= 240 && b <= 244) {
      more = 3;
      c = b & 7;
      if (b === 240) lo = 144;
      else if (b === 244) hi = 143;
    } else return void 0;
    if (i + more >= end) return void 0;
    const b1 = buf[i + 1];
    if (b1 < lo || b1 > hi) return void 0;
    c = c << 6 | b1 & 63;
    for (let k = 2; k <= more; k++) {
      const bk = buf[i + k];
      if ((bk & 192) !== 128) return void 0;
      c = c << 6 | bk & 63;
    }
    i += more + 1;
    if (c < 65536) units.push(c);
    else units.push(55296 + (c - 65536 >> 10), 56320 + (c & 1023));
  }
  return fromCodes(units);
}
function fromCodes(codes) {
  const n = codes.length;
  if (n <= CHUNK) return String.fromCharCode.apply(null, codes);
  let s = "";
  for (let k = 0; k < n; k += CHUNK) s += String.fromCharCode.apply(null, codes.slice(k, k + CHUNK));
  return s;
}
export {
  readUtf8,
  utf8Length,
  writeUtf8
};
