class UsageError extends Error {
}
const ESCAPES = { n: "\n", r: "\r", t: "	" };
function tokenize(line) {
  const tokens = [];
  let token = "";
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") {
      const e = line[++i];
      if (e === void 0) throw new SyntaxError("backslash at end of line");
      if (e === "x" || e === "u") {
        const n = e === "x" ? 2 : 4;
        const hex = line.slice(i + 1, i + 1 + n);
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) throw new SyntaxError(`bad escape \\${e}${hex}`);
        token += String.fromCharCode(Number.parseInt(hex, 16));
        i += n;
      } else token += ESCAPES[e] ?? e;
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === " " || c === "	")) {
      if (inToken) tokens.push(token);
      token = "";
      inToken = false;
    } else {
      token += c;
      inToken = true;
    }
  }
  if (quoted) throw new SyntaxError("unterminated quote");
  if (inToken) tokens.push(token);
  return tokens;
}
function mustEscape(c) {
  return c < 32 || c >= 127 && c <= 159 || c === 34 || c === 92 || c === 8232 || c === 8233;
}
function escapeChar(c) {
  if (c === 34 || c === 92) return `\\${String.fromCharCode(c)}`;
  if (c === 10) return "\\n";
  if (c === 13) return "\\r";
  if (c === 9) return "\\t";
  return c < 256 ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16)}`;
}
function quote(value) {
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
function oneLine(text) {
  return text.replace(/[\r\n]+/g, " ");
}
function usageOf(command) {
  return command.usage ? `${command.name} ${command.usage}` : command.name;
}
function help(commands, args, out) {
  const wanted = args[0];
  for (const command of commands) {
    if (wanted === void 0 || command.name === wanted) out(`${usageOf(command)} - ${command.help}`);
  }
  if (wanted === void 0) out("help [command] - list the commands, or show one");
  else if (!commands.some((command) => command.name === wanted)) out(`error: no command ${quote(wanted)}`);
}
function execute(commands, line, out) {
  let args;
  try {
    args = tokenize(line);
  } catch (error) {
    out(`error: ${error.message}`);
    return;
  }
  const name = args.shift();
  if (name === void 0) return;
  if (name === "help") {
    help(commands, args, out);
    return;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    out(`error: unknown command ${quote(name)}; type help for the list`);
    return;
  }
  if (args.length < command.min || args.length > command.max) {
    const range = command.min === command.max ? `${command.min}` : `${command.min} to ${command.max}`;
    out(`error: ${name} takes ${range} argument${range === "1" ? "" : "s"}; usage: ${usageOf(command)}`);
    return;
  }
  try {
    command.run(args, out);
  } catch (error) {
    const message = oneLine(error instanceof Error ? error.message : String(error));
    out(error instanceof UsageError ? `error: ${message}; usage: ${usageOf(command)}` : `error: ${name}: ${message}`);
  }
}
function intArg(value, name, min, max) {
  const n = /^-?\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, not ${quote(value)}`);
  return n;
}
function enumArg(value, name, allowed) {
  if (!allowed.includes(value)) {
    throw new UsageError(`${name} must be one of ${allowed.join("|")}, not ${quote(value)}`);
  }
  return value;
}
function qosArg(value) {
  return intArg(value, "qos", 0, 2);
}
function checkedArg(value, name, check) {
  const problem = check(value);
  if (problem !== void 0) throw new UsageError(`bad ${name} ${quote(value)}: ${problem}`);
  return value;
}
export {
  UsageError,
  checkedArg,
  enumArg,
  execute,
  intArg,
  qosArg,
  quote,
  tokenize
};
