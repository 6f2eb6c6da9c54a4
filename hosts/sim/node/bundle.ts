// Turns an XS entry (TypeScript, importing `tether/*`) into one script that xsnap can evaluate. XS has no module
// loader here, so everything goes into a single IIFE; tsconfig.json supplies the `tether/*` paths, exactly as for
// the firmware build. Bundles are cached for the life of the process: tests start many devices from one entry.

import { resolve } from "node:path";
import { build } from "esbuild";

export interface BundleOptions {
  /** Exposes the entry's exports as this global (e.g. for a test entry whose functions Node calls). */
  globalName?: string;
  /** Module specifiers bundled from other files (esbuild's alias: paths from the working directory, or absolute). */
  alias?: Record<string, string>;
}

const cache = new Map<string, Promise<string>>();

/** The entry path is taken relative to the working directory, which is the repository root (npm, jest). */
export function bundleForXs(entry: string, options: BundleOptions = {}): Promise<string> {
  const path = resolve(entry);
  const key = `${path}\0${options.globalName ?? ""}\0${JSON.stringify(options.alias ?? {})}`;
  let bundle = cache.get(key);
  if (!bundle) {
    bundle = build({
      entryPoints: [path],
      bundle: true,
      format: "iife",
      target: "es2022",
      platform: "neutral",
      tsconfig: resolve("tsconfig.json"),
      globalName: options.globalName,
      alias: options.alias,
      write: false,
      logLevel: "silent",
    }).then((result) => result.outputFiles[0].text);
    // A failed build is not cached: the next attempt may follow a fix.
    bundle.catch(() => cache.delete(key));
    cache.set(key, bundle);
  }
  return bundle;
}
