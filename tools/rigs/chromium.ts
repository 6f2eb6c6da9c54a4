// Headless Chromium (Debian's `chromium`) loading a page the way a person's browser would, scripts and all: what
// the page's DOM holds once it has run, or a screenshot of it.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const CHROMIUM = existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;

/** Runs Chromium headless on the file with `args` (e.g. --dump-dom); resolves with its standard output. */
export async function chromium(file: string, args: string[]): Promise<string> {
  if (!CHROMIUM) throw new Error("chromium is not installed (Debian: apt-get install -y chromium)");
  const profile = mkdtempSync(join(tmpdir(), "tether-chromium-"));
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
  flags.push("--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`);
  try {
    return await new Promise((resolve, reject) =>
      execFile(CHROMIUM!, [...flags, ...args, pathToFileURL(file).href], { timeout: 60000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
