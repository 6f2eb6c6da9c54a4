// The text syntax of the console's commands and of the log's values, so that a value copied from a log line can
// be pasted back as an argument (tether/diag/console runs the commands; tether/diag/log writes the values).
//
// Syntax: arguments are separated by spaces or tabs. Double quotes group text with spaces, and may sit inside a
// word (`a"b c"` is `ab c`). A backslash escapes the next character anywhere: `\n` `\r` `\t` are line feed,
// carriage return and tab, `\xHH` and `\uHHHH` are the character with that hex code, any other `\c` is `c`.

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({ n: "\n", r: "\r", t: "\t" });

/**
 * Splits a line into arguments (see the syntax above). Throws SyntaxError on an open quote or a bad escape.
 *
 * Linear in the line's length in XS too, where indexing a string (`line[i]`) scans it from the start and adding a
 * character to a string copies it: the line is walked with its iterator and each argument's characters are
 * joined once.
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  const chars: string[] = [];
  let inToken = false;
  let quoted = false;
  let escaped = false;
  /** Inside `\xHH` or `\uHHHH`: its letter, the digits read so far and how many are still to come. */
  let hexKind = "";
  let hex = "";
  let hexLeft = 0;
  for (const c of line) {
    if (hexLeft) {
      hex += c;
      if (--hexLeft === 0) chars.push(hexChar(hexKind, hex));
    } else if (escaped) {
      escaped = false;
      if (c === "x" || c === "u") {
        hexKind = c;
        hex = "";
        hexLeft = c === "x" ? 2 : 4;
      } else chars.push(ESCAPES[c] ?? c);
    } else if (c === "\\") {
      escaped = true;
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === " " || c === "\t")) {
      if (inToken) tokens.push(chars.join(""));
      chars.length = 0;
      inToken = false;
    } else {
      chars.push(c);
      inToken = true;
    }
  }
  if (escaped) throw new SyntaxError("backslash at end of line");
  if (hexLeft) throw new SyntaxError(`bad escape \\${hexKind}${hex}`);
  if (quoted) throw new SyntaxError("unterminated quote");
  if (inToken) tokens.push(chars.join(""));
  return tokens;
}

/** The character of escape `\<kind><digits>`, or a SyntaxError when the digits are not hexadecimal. */
function hexChar(kind: string, digits: string): string {
  if (!/^[0-9a-fA-F]+$/.test(digits)) throw new SyntaxError(`bad escape \\${kind}${digits}`);
  return String.fromCharCode(Number.parseInt(digits, 16));
}

/** Whether the character with code `c` is escaped inside quotes: quote, backslash, controls, line separators. */
function mustEscape(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x22 || c === 0x5c || c === 0x2028 || c === 0x2029;
}

function escapeChar(c: number): string {
  if (c === 0x22 || c === 0x5c) return `\\${String.fromCharCode(c)}`;
  if (c === 0x0a) return "\\n";
  if (c === 0x0d) return "\\r";
  if (c === 0x09) return "\\t";
  return c < 0x100 ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16)}`;
}

/**
 * Writes `value` so that tokenize() reads it back as one argument: as it is when it is plain, otherwise in double
 * quotes with `"`, `\`, control characters and line separators escaped. Plain means not empty, and no white
 * space of any kind, quote, `=`, backslash or control character, which a reader or the tokenizer could misread.
 */
export function quote(value: string): string {
  if (value.length > LONG) return quoteLong(value);
  let plain = value !== "" && !/[\s'=]/.test(value);
  for (let i = 0; plain && i < value.length; i++) plain = !mustEscape(value.charCodeAt(i));
  if (plain) return value;
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!mustEscape(c)) continue;
    out += value.slice(start, i) + escapeChar(c);
    start = i + 1;
  }
  return `${out}${value.slice(start)}"`;
}

/**
 * Values longer than this are quoted by walking them with their iterator: XS finds `value.charCodeAt(i)` by
 * scanning from the start, so the indexed loop of quote() would take time quadratic in the length (a 64 KB topic in
 * a log line: seconds). Shorter ones keep that loop, which allocates nothing for a plain value.
 */
const LONG = 64;

function quoteLong(value: string): string {
  let plain = !/[\s'=]/.test(value);
  const parts: string[] = [];
  for (const ch of value) {
    // The first code unit: the second of a pair is never one to escape.
    const c = ch.charCodeAt(0);
    if (mustEscape(c)) {
      plain = false;
      parts.push(escapeChar(c));
    } else parts.push(ch);
  }
  return plain ? value : `"${parts.join("")}"`;
}
