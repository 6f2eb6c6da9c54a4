// Runs a TypeScript entry point of the desktop side (simulator, benchmarks) on Node 20, which cannot run
// TypeScript itself: esbuild bundles it with our path aliases into build/, npm packages stay external.

import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs <entry.ts> [args...]");
  process.exit(2);
}
const outfile = resolve("build/node", `${basename(entry, ".ts")}.mjs`);
await build({
  entryPoints: [entry],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  tsconfig: "tsconfig.node.json",
  outfile,
  sourcemap: "inline",
  logLevel: "error",
});
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
