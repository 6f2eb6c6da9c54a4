import { utf8Length } from "tether/mqtt/utf8";
const SLASH = 47;
const PLUS = 43;
const HASH = 35;
const DOLLAR = 36;
const SHARE = "$share/";
function validString(s) {
  const n = utf8Length(s);
  return n > 0 && n <= 65535;
}
function validTopicName(name) {
  return name.indexOf("+") < 0 && name.indexOf("#") < 0 && validString(name);
}
function validTopicFilter(filter) {
  if (!validString(filter)) return false;
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
    if (c === HASH ? i !== n - 1 : i + 1 < n && filter.charCodeAt(i + 1) !== SLASH) return false;
  }
  if (!filter.startsWith(SHARE)) return true;
  const slash = filter.indexOf("/", SHARE.length);
  const share = filter.charCodeAt(SHARE.length);
  return slash > SHARE.length && slash + 1 < n && share !== PLUS && share !== HASH;
}
function topicMatches(filter, name) {
  let f = 0;
  if (filter.startsWith(SHARE)) f = filter.indexOf("/", SHARE.length) + 1;
  const fl = filter.length;
  const nl = name.length;
  let n = 0;
  if (name.charCodeAt(0) === DOLLAR) {
    const c = filter.charCodeAt(f);
    if (c === PLUS || c === HASH) return false;
  }
  for (; ; ) {
    const c = filter.charCodeAt(f);
    if (c === HASH) return true;
    if (c === PLUS) {
      f++;
      while (n < nl && name.charCodeAt(n) !== SLASH) n++;
    } else {
      while (f < fl && filter.charCodeAt(f) !== SLASH) {
        if (n >= nl || name.charCodeAt(n) !== filter.charCodeAt(f)) return false;
        f++;
        n++;
      }
      if (n < nl && name.charCodeAt(n) !== SLASH) return false;
    }
    if (f === fl) return n === nl;
    if (n === nl) return f + 2 === fl && filter.charCodeAt(f + 1) === HASH;
    f++;
    n++;
  }
}
export {
  topicMatches,
  validTopicFilter,
  validTopicName
};
