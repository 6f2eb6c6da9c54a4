import fc from "fast-check";
import {
  type Command,
  checkedArg,
  enumArg,
  execute,
  intArg,
  qosArg,
  quote,
  tokenize,
  UsageError,
} from "tether/diag/console";

describe("tokenize", () => {
  test("splits on spaces and tabs, groups quoted text, unescapes", () => {
    expect(tokenize('  pub  "a b"\tc\\ d "x\\"y\\\\z" "" a"b c"d \\x41\\u00e9\\n')).toEqual([
      "pub",
      "a b",
      "c d",
      'x"y\\z',
      "",
      "ab cd",
      "Aé\n",
    ]);
    expect(tokenize("")).toEqual([]);
    expect(tokenize(" \t ")).toEqual([]);
  });

  test("rejects an open quote and bad escapes", () => {
    expect(() => tokenize('pub "open')).toThrow("unterminated quote");
    expect(() => tokenize("pub end\\")).toThrow(SyntaxError);
    expect(() => tokenize("pub \\xZ1")).toThrow("bad escape");
    expect(() => tokenize("pub \\u12")).toThrow("bad escape");
  });

  test("quote() gives what tokenize() reads back as one argument", () => {
    expect(quote("plain")).toBe("plain");
    expect(quote("")).toBe('""');
    expect(quote("a b")).toBe('"a b"');
    expect(quote("\u2028")).toBe('"\\u2028"');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" })), (value) => {
        expect(tokenize(`cmd ${quote(value)} next`)).toEqual(["cmd", value, "next"]);
      }),
      { numRuns: 500 },
    );
  });
});

describe("execute", () => {
  function setup() {
    const out: string[] = [];
    const calls: string[][] = [];
    const commands: Command[] = [
      {
        name: "pub",
        usage: "<topic> <payload> [qos]",
        help: "publish a message",
        min: 2,
        max: 3,
        run(args, print) {
          const qos = args[2] === undefined ? 0 : qosArg(args[2]);
          calls.push(args);
          print(`published qos=${qos}`);
        },
      },
      { name: "status", usage: "", help: "show the state", min: 0, max: 0, run: (_args, print) => print("ok") },
      {
        name: "boom",
        usage: "",
        help: "fails",
        min: 0,
        max: 0,
        run() {
          throw new Error("disk\non fire");
        },
      },
      {
        name: "odd",
        usage: "",
        help: "throws a string",
        min: 0,
        max: 0,
        run() {
          throw "plain string";
        },
      },
    ];
    const run = (line: string) => {
      out.length = 0;
      execute(commands, line, (text) => out.push(text), undefined);
      return [...out];
    };
    return { run, calls };
  }

  test("runs a command with its parsed arguments", () => {
    const { run, calls } = setup();
    expect(run('pub t/1 "hello world" 1')).toEqual(["published qos=1"]);
    expect(calls).toEqual([["t/1", "hello world", "1"]]);
    expect(run("status")).toEqual(["ok"]);
  });

  test("an empty line does nothing", () => {
    expect(setup().run("   ")).toEqual([]);
  });

  test("help lists every command, or one", () => {
    const { run } = setup();
    expect(run("help")).toEqual([
      "pub <topic> <payload> [qos] - publish a message",
      "status - show the state",
      "boom - fails",
      "odd - throws a string",
      "help [command] - list the commands, or show one",
    ]);
    expect(run("help pub")).toEqual(["pub <topic> <payload> [qos] - publish a message"]);
    expect(run("help nope")).toEqual(["error: no command nope"]);
  });

  test("mistakes and failures give one error line, never an exception", () => {
    const { run, calls } = setup();
    expect(run("frobnicate now")).toEqual(["error: unknown command frobnicate; type help for the list"]);
    expect(run("pub onlytopic")).toEqual(["error: pub takes 2 to 3 arguments; usage: pub <topic> <payload> [qos]"]);
    expect(run("status extra")).toEqual(["error: status takes 0 arguments; usage: status"]);
    expect(run("pub t p 7")).toEqual([
      "error: qos must be an integer from 0 to 2, not 7; usage: pub <topic> <payload> [qos]",
    ]);
    expect(run('pub "t')).toEqual(["error: unterminated quote"]);
    expect(run("boom")).toEqual(["error: boom: disk on fire"]);
    expect(run("odd")).toEqual(["error: odd: plain string"]);
    expect(calls).toEqual([]);
  });
});

describe("argument validators", () => {
  test("intArg accepts decimal integers in range only", () => {
    expect(intArg("42", "keepalive", 0, 65535)).toBe(42);
    expect(intArg("-3", "n", -5, 5)).toBe(-3);
    for (const bad of ["", "1.5", "1e3", "0x10", " 1", "70000", "-1", "abc"]) {
      expect(() => intArg(bad, "keepalive", 0, 65535)).toThrow(UsageError);
    }
  });

  test("enumArg, qosArg and checkedArg", () => {
    expect(enumArg("debug", "level", ["error", "debug"] as const)).toBe("debug");
    expect(() => enumArg("loud", "level", ["error", "debug"])).toThrow("level must be one of error|debug, not loud");
    expect(qosArg("2")).toBe(2);
    expect(() => qosArg("3")).toThrow(UsageError);
    const noWildcards = (topic: string) =>
      /[+#]/.test(topic) ? "wildcards are not allowed in a topic name" : undefined;
    expect(checkedArg("a/b", "topic", noWildcards)).toBe("a/b");
    expect(() => checkedArg("a/#", "topic", noWildcards)).toThrow("bad topic a/#: wildcards are not allowed");
  });
});
