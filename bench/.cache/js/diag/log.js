import { quote, tokenize } from "tether/diag/console";
const ERROR = 0;
const WARN = 1;
const INFO = 2;
const DEBUG = 3;
const TRACE = 4;
const LEVEL_NAMES = ["error", "warn", "info", "debug", "trace"];
const LETTERS = "EWIDT";
function levelFromName(name2) {
  const level = LEVEL_NAMES.indexOf(name2);
  return level < 0 ? void 0 : level;
}
const SECRET_KEY = /^(auth|key|pass|pwd|psk)$|passw(or)?d$|passphrase$|token$|secret$|authenticationdata$|(api|private)key$|credentials?$/i;
function isSecretKey(key) {
  return SECRET_KEY.test(key);
}
function name(text) {
  return /^[\w.:/-]+$/.test(text) ? text : text.replace(/[^\w.:/-]/g, "_") || "_";
}
function redact(value, secrets) {
  for (const secret of secrets) if (value.includes(secret)) value = value.split(secret).join("***");
  return value;
}
function fieldsText(fields, secrets) {
  let text = "";
  for (const key in fields) {
    const value = fields[key];
    if (value === void 0) continue;
    text += ` ${name(key)}=${isSecretKey(key) ? "***" : quote(redact(String(value), secrets))}`;
  }
  return text;
}
function body(level, area, event, fields, secrets) {
  return `${LETTERS[level]} ${name(area)} ${name(event)}${fieldsText(fields, secrets)}`;
}
function formatLine(time, level, area, event, fields, secrets = []) {
  return `${Math.floor(time)} ${body(level, area, event, fields, secrets)}`;
}
function parseLine(line) {
  let tokens;
  try {
    tokens = tokenize(line.replace(/\r?\n$/, ""));
  } catch {
    return void 0;
  }
  const [time, letter, area, event] = tokens;
  const level = letter?.length === 1 ? LETTERS.indexOf(letter) : -1;
  if (!/^\d+$/.test(time ?? "") || level < 0 || !area || !event) return void 0;
  const parsed = { time: Number(time), level, area, event, fields: {} };
  if (tokens[4] === "...") {
    if (tokens.length !== 8 || !/^\d+$/.test(tokens[5]) || tokens[6] !== "similar" || tokens[7] !== "suppressed") {
      return void 0;
    }
    parsed.suppressed = Number(tokens[5]);
    return parsed;
  }
  for (let i = 4; i < tokens.length; i++) {
    const eq = tokens[i].indexOf("=");
    if (eq <= 0) return void 0;
    parsed.fields[tokens[i].slice(0, eq)] = tokens[i].slice(eq + 1);
  }
  return parsed;
}
const RECENT = 8;
class Logger {
  level;
  /** Milliseconds within which an identical line is counted instead of printed. */
  window;
  sink;
  now;
  secrets = [];
  recent = [];
  /** `sink` gets each line without a line ending; `now` gives the uptime in ms. */
  constructor(sink, now, level = INFO, window = 1e4) {
    this.sink = sink;
    this.now = now;
    this.level = level;
    this.window = window;
    for (let i = 0; i < RECENT; i++) this.recent.push({ text: "", time: 0, seen: 0, suppressed: 0 });
  }
  /** Hides `value` wherever it appears in a logged value from now on (a password, a token). Empty values are ignored. */
  addSecret(value) {
    if (value === "" || this.secrets.includes(value)) return;
    this.secrets.push(value);
    this.secrets.sort((a, b) => b.length - a.length);
  }
  /** `k=v k=v` as a line shows these fields, secrets hidden: for text kept elsewhere (the history). */
  describe(fields) {
    return fieldsText(fields, this.secrets).slice(1);
  }
  enabled(level) {
    return level <= this.level;
  }
  log(level, area, event, fields) {
    if (level > this.level) return;
    const now = this.now();
    const text = body(level, area, event, fields, this.secrets);
    let slot = this.recent.find((r) => r.text === text);
    if (slot && now - slot.time < this.window) {
      slot.suppressed++;
      slot.seen = now;
      return;
    }
    slot ??= this.recent.reduce((oldest, r) => r.seen < oldest.seen ? r : oldest);
    this.flush(slot, now);
    slot.text = text;
    slot.time = slot.seen = now;
    this.sink(`${Math.floor(now)} ${text}`);
  }
  error(area, event, fields) {
    this.log(ERROR, area, event, fields);
  }
  warn(area, event, fields) {
    this.log(WARN, area, event, fields);
  }
  info(area, event, fields) {
    this.log(INFO, area, event, fields);
  }
  debug(area, event, fields) {
    this.log(DEBUG, area, event, fields);
  }
  trace(area, event, fields) {
    this.log(TRACE, area, event, fields);
  }
  /** Call now and then (the firmware's periodic work): reports held-back lines once their window has passed. */
  tick(now) {
    for (const slot of this.recent) {
      if (slot.suppressed > 0 && now - slot.time >= this.window) {
        this.flush(slot, now);
        slot.text = "";
      }
    }
  }
  /** Prints the summary of the copies of `slot`'s line held back, if any. */
  flush(slot, now) {
    if (slot.suppressed === 0) return;
    const head = slot.text.split(" ", 3).join(" ");
    this.sink(`${Math.floor(now)} ${head} ... ${slot.suppressed} similar suppressed`);
    slot.suppressed = 0;
  }
}
export {
  DEBUG,
  ERROR,
  INFO,
  LEVEL_NAMES,
  Logger,
  TRACE,
  WARN,
  formatLine,
  isSecretKey,
  levelFromName,
  parseLine
};
