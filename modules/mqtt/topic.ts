// Topic names and filters (MQTT 5.0 spec 4.7 and 4.8.2, 3.1.1 spec 4.7). Index arithmetic on char codes: no
// split(), so matching an incoming PUBLISH against the subscriptions allocates nothing.
import { badCharacter, utf8Length } from "tether/mqtt/utf8";

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const SHARE = "$share/";

/**
 * A string of 1 to 65535 bytes of UTF-8 that brokers accept: no lone surrogate, control character or non-character
 * (see utf8.ts).
 */
function validString(s: string): boolean {
  const n = utf8Length(s);
  return n > 0 && n <= 65535;
}

/** Non-empty, no wildcard, nothing a broker refuses (see validString), at most 65535 bytes. */
export function validTopicName(name: string): boolean {
  return name.indexOf("+") < 0 && name.indexOf("#") < 0 && validString(name);
}

/** Why `name` is not a topic name brokers accept, in words, or undefined when it is one. */
export function topicNameProblem(name: string): string | undefined {
  if (validTopicName(name)) return undefined;
  if (name.indexOf("+") >= 0 || name.indexOf("#") >= 0) return "a wildcard (+ or #) in a topic name";
  return stringProblem(name);
}

/** Why `filter` is not a topic filter brokers accept, in words, or undefined when it is one. */
export function topicFilterProblem(filter: string): string | undefined {
  if (validTopicFilter(filter)) return undefined;
  return (
    stringProblem(filter) ??
    "+ must fill a whole level, # must be the last level, a $share/ name needs a name and a filter"
  );
}

/** Why `s` is not a string of 1 to 65535 bytes brokers accept, or undefined. */
function stringProblem(s: string): string | undefined {
  if (s === "") return "empty";
  const bad = badCharacter(s);
  if (bad) return bad;
  return utf8Length(s) > 65535 ? "longer than 65535 bytes of UTF-8" : undefined;
}

/**
 * Non-empty; `+` fills a whole level; `#` fills the last level. A shared subscription (`$share/{name}/{filter}`)
 * needs a share name without `/`, `+` or `#` and a non-empty filter after it.
 *
 * Walks the filter with its iterator: XS finds `s.charCodeAt(i)` by scanning from the start, so an indexed loop
 * takes time quadratic in the length (8 s for a 64 KB filter a hostile broker sent in a SUBSCRIBE).
 */
export function validTopicFilter(filter: string): boolean {
  if (!validString(filter)) return false;
  // The character before the current one; a filter starts as if after a level separator.
  let previous = SLASH;
  for (const ch of filter) {
    const c = ch.charCodeAt(0);
    if (previous === HASH || (previous === PLUS && c !== SLASH)) return false;
    if ((c === PLUS || c === HASH) && previous !== SLASH) return false;
    previous = c;
  }
  if (!filter.startsWith(SHARE)) return true;
  const slash = filter.indexOf("/", SHARE.length);
  const n = filter.length;
  // After the level rules, a wildcard in the share name can only be the whole name.
  const share = filter.charCodeAt(SHARE.length);
  return slash > SHARE.length && slash + 1 < n && share !== PLUS && share !== HASH;
}

/**
 * Whether `name` (a valid topic name) matches `filter` (a valid topic filter). Wildcards at the first level do
 * not match names starting with `$` (spec 4.7.2). A shared subscription filter matches as its topic part.
 */
export function topicMatches(filter: string, name: string): boolean {
  let f = 0;
  if (filter.startsWith(SHARE)) f = filter.indexOf("/", SHARE.length) + 1;
  const fl = filter.length;
  const nl = name.length;
  let n = 0;
  if (name.charCodeAt(0) === DOLLAR) {
    const c = filter.charCodeAt(f);
    if (c === PLUS || c === HASH) return false;
  }
  // Each turn matches one level; f and n are at the start of a level.
  for (;;) {
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
    // The filter has another level. If the name has none, only a trailing "/#" still matches (it covers the parent).
    if (n === nl) return f + 2 === fl && filter.charCodeAt(f + 1) === HASH;
    f++;
    n++;
  }
}
