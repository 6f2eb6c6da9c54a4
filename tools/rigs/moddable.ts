// The real Moddable SDK from a test or the bench: builds a manifest with mcconfig (release builds only: the debug makefile kills
// processes by name), runs the result in mcsim headless, and, for ESP32 where there is no ESP-IDF, compiles and links
// the modules alone. The SDK is $MODDABLE, else ~/moddable, built as the SDK's Getting Started guide for Linux says.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";

/** The repository: npm and jest run everything from its root, as the other rigs assume. */
export const ROOT = resolve(".");
export const SDK = process.env.MODDABLE || join(homedir(), "moddable");
const BIN = join(SDK, "build/bin/lin/release");

/** Whether an SDK is built where this module looks. */
export function sdkBuilt(): boolean {
  return existsSync(join(BIN, "mcconfig")) && existsSync(join(BIN, "mcsim"));
}

/** Throws one clear line when there is no built SDK: these tests must not pass by skipping. */
export function requireSdk(): void {
  if (!sdkBuilt()) {
    throw new Error(
      `no Moddable SDK built at ${SDK}: set MODDABLE, or build one as "Moddable SDK - Getting Started.md" (Linux) says`,
    );
  }
}

/** mcconfig runs tsc from PATH: TypeScript 5.9 from this project's node_modules comes first. */
function sdkEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MODDABLE: SDK,
    PATH: [join(ROOT, "node_modules/.bin"), BIN, process.env.PATH ?? ""].join(delimiter),
  };
}

export interface Build {
  /** The build's temporary folder: the generated makefile, modules/*.xsb, tsc output. */
  tmp: string;
  /** mcconfig's output (warnings included). */
  output: string;
  /** lin: the simulator library for mcsim. */
  library?: string;
  remove(): void;
}

export interface BuildOptions {
  platform: "lin" | "esp32";
  /** The build's NAME when the manifest in `dir` does not set it (one that includes the firmware's, say). */
  name?: string;
  /** mcconfig's `key=value` overrides of the manifest's config. */
  config?: Record<string, string>;
  /** Instrumented release build (-i): heap counters in Instrumentation. */
  instrument?: boolean;
}

/** Builds the manifest in `dir` (relative to the repository, or absolute). For esp32, stops once the modules link. */
export function build(dir: string, options: BuildOptions): Build {
  requireSdk();
  const folder = resolve(ROOT, dir);
  const out = mkdtempSync(join(tmpdir(), "tether-mcconfig-"));
  const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8"));
  const name = options.name ?? manifest.build?.NAME ?? folder.split("/").pop()!;
  const args = ["-m", "-p", options.platform, "-o", out, ...(options.instrument ? ["-i"] : [])];
  for (const [key, value] of Object.entries(options.config ?? {})) args.push(`${key}=${value}`);
  if (options.platform === "lin") args.push(filesInWorkingDirectory(folder, out, name));
  const result = spawnSync(join(BIN, "mcconfig"), args, { cwd: folder, env: sdkEnv(), encoding: "utf8" });
  let output = `${result.stdout}${result.stderr}`;
  const kind = options.instrument ? "instrument" : "release";
  const tmp = join(out, "tmp", options.platform === "lin" ? "lin/mc" : "esp32", kind, name);
  const remove = () => rmSync(out, { recursive: true, force: true });
  if (options.platform === "esp32") {
    // Without ESP-IDF the generated makefile stops at once; its module targets need nothing from IDF.
    if (!output.includes("IDF_PATH not set") || !existsSync(join(tmp, "makefile"))) {
      remove();
      throw new Error(`mcconfig -p esp32 failed before the makefile:\n${output}`);
    }
    output += linkModulesOnly(tmp);
  } else if (result.status !== 0) {
    remove();
    throw new Error(`mcconfig failed:\n${output}`);
  }
  const library = join(out, "bin/lin/mc", kind, name, "mc.so");
  return { tmp, output, library: existsSync(library) ? library : undefined, remove };
}

/**
 * A manifest in `out` that builds the one in `folder` with the file system's root in the working directory: on lin
 * it is /tmp/, so every mcsim on the machine would share one preferences file (Preference keeps its settings in
 * /tmp/modpreferences.json), and one run's saved settings and history would reach another's. Each Mcsim runs in a
 * folder of its own.
 */
function filesInWorkingDirectory(folder: string, out: string, name: string): string {
  const wrapper = join(out, "manifest.json");
  const manifest = {
    build: { NAME: name },
    include: [join(folder, "manifest.json")],
    config: { file: { root: "./" } },
  };
  writeFileSync(wrapper, JSON.stringify(manifest));
  return wrapper;
}

/**
 * The firmware for lin trusting a private CA, as a user builds it: an application manifest in `folder` that
 * includes the firmware's and bundles `caPem` (converted to DER) as the resource `test-ca`, named by brokerCa.
 */
export function buildTrusting(folder: string, caPem: string, config: Record<string, string>): Build {
  execFileSync("openssl", ["x509", "-in", caPem, "-outform", "der", "-out", join(folder, "test-ca.der")]);
  writeFileSync(
    join(folder, "manifest.json"),
    JSON.stringify({ include: [join(ROOT, "manifest.json")], data: { "*": "./test-ca" } }),
  );
  return build(folder, { platform: "lin", name: "tether", config: { brokerCa: "test-ca", ...config } });
}

/** Runs the makefile's xsc, tsc, xsl and mcrez steps (mc.xs.c, mc.resources.c) with a stand-in for IDF_PATH. */
function linkModulesOnly(tmp: string): string {
  const idf = mkdtempSync(join(tmpdir(), "tether-no-idf-"));
  try {
    // The makefile asks git for the IDF version; an empty repository answers.
    const git = (...args: string[]) => execFileSync("git", args, { cwd: idf, stdio: "ignore" });
    git("init", "-q");
    git("-c", "user.name=tether", "-c", "user.email=tether@localhost", "commit", "-q", "--allow-empty", "-m", "idf");
    const targets = [join(tmp, "mc.xs.c"), join(tmp, "mc.resources.c")];
    const make = spawnSync("make", ["-f", "makefile", `IDF_PATH=${idf}`, "SDKCONFIG_H=", ...targets], {
      cwd: tmp,
      env: sdkEnv(),
      encoding: "utf8",
    });
    const output = `${make.stdout}${make.stderr}`;
    if (make.status !== 0) throw new Error(`esp32 modules did not compile and link:\n${output}`);
    return output;
  } finally {
    rmSync(idf, { recursive: true, force: true });
  }
}

/** Every module in the build (its specifier) and the source it was compiled from, from the makefile's rules. */
export function modulesOf(tmp: string): Map<string, string> {
  const makefile = readFileSync(join(tmp, "makefile"), "utf8");
  const modules = new Map<string, string>();
  for (const match of makefile.matchAll(/^\$\(MODULES_DIR\)\/(.+)\.xsb: (\S+)/gm)) {
    const specifier = match[1].replace(/^~\.embedded\//, "embedded:");
    modules.set(specifier, match[2].replace("$(TMP_DIR)", tmp));
  }
  return modules;
}

/**
 * Imports of this repository's modules that no module in the build provides: neither tsc nor xsl reports them,
 * and the board aborts at boot when it reaches one.
 */
export function unresolvedImports(tmp: string): string[] {
  const modules = modulesOf(tmp);
  const missing: string[] = [];
  for (const [specifier, source] of modules) {
    if (!source.includes(ROOT)) continue;
    const code = readFileSync(source, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    for (const match of code.matchAll(/(?:^|[;\s])(?:import|export)\s*(?:[^"';]*?\sfrom\s*)?["']([^"']+)["']/g)) {
      if (!modules.has(match[1])) missing.push(`${specifier} imports "${match[1]}"`);
    }
  }
  return missing;
}

/**
 * Objects of the SDK's own modules that xsl finds unfrozen through our code: not ours to freeze. The preference
 * module's cache (lin), reached from readSetting; the console module's command line (esp32), reached from the
 * serial input.
 */
const SDK_OBJECTS = [" Preference.#cache", " CLI", " CLI.handlers"];

/** mcconfig's warnings about this repository's own files and modules (the SDK's own are not ours to fix). */
export function ownWarnings(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => /warning/i.test(line))
    .filter((line) => line.includes(ROOT) || /warning: (tether|hosts\/moddable|main)\b/.test(line))
    .filter((line) => !SDK_OBJECTS.some((object) => line.endsWith(`${object}: not frozen`)));
}

/** Files under `folder`, recursively, relative to it. */
export function filesUnder(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(relative(folder, path));
    }
  };
  walk(folder);
  return found;
}

/**
 * One run of mcsim, headless, in a folder of its own: its configuration (XDG_CONFIG_HOME) and, for builds of
 * `build`, its files and preferences (see filesInWorkingDirectory).
 */
export class Mcsim {
  #output = "";
  #waiters = new Set<() => void>();
  readonly #child: ChildProcess;
  readonly #config: string;
  readonly exited: Promise<void>;

  private constructor(library: string) {
    this.#config = mkdtempSync(join(tmpdir(), "tether-mcsim-"));
    this.#child = spawn("xvfb-run", ["-a", "stdbuf", "-o0", join(BIN, "mcsim"), library], {
      cwd: this.#config,
      env: { ...sdkEnv(), XDG_CONFIG_HOME: this.#config },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const collect = (chunk: Buffer) => {
      this.#output += chunk;
      for (const wake of this.#waiters) wake();
    };
    this.#child.stdout!.on("data", collect);
    this.#child.stderr!.on("data", collect);
    this.exited = once(this.#child, "exit").then(() => {
      for (const wake of this.#waiters) wake();
    });
  }

  static start(library: string): Mcsim {
    return new Mcsim(library);
  }

  /** The process group of mcsim and its X server (mcsim's own process is found in it by name). */
  get group(): number {
    return this.#child.pid!;
  }

  /** Everything mcsim printed: the firmware's trace output. */
  get output(): string {
    return this.#output;
  }

  /** Resolves with the first match of `pattern` in the output after `from` (an index into output). */
  waitFor(pattern: RegExp, ms = 20000, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const match = this.#output.slice(from).match(pattern);
        if (match) {
          done();
          resolvePromise(match);
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          done();
          reject(new Error(`mcsim exited before ${pattern}; output ends with:\n${this.#output.slice(-3000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`mcsim never printed ${pattern} (${ms} ms); output ends with:\n${this.#output.slice(-3000)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Ends mcsim and its X server (the whole process group), and removes its configuration folder. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      try {
        process.kill(-this.#child.pid!, "SIGTERM");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-this.#child.pid!, "SIGKILL");
        } catch {}
      }, 3000);
      await this.exited.finally(() => clearTimeout(timer));
    }
    rmSync(this.#config, { recursive: true, force: true });
  }
}
