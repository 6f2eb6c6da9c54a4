// `npm run bench` as a person first runs it: --help prints the usage, a wrong word is one line, neither measures
// anything nor prints a stack trace.

import { spawnSync } from "node:child_process";

const bench = (...args: string[]) =>
  spawnSync(process.execPath, ["scripts/run-ts.mjs", "bench/run.ts", ...args], { encoding: "utf8" });

test("--help prints the usage with the sections and exits 0", () => {
  const run = bench("--help");
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^usage: npm run bench \[-- section \.\.\.\]\n/);
  expect(run.stdout).toContain("codec, meter, e2e, footprint, recovery, mcsim");
  expect(run.stderr).toBe("");
});

test.each([
  ["--bogus", "unknown option --bogus"],
  ["codex", "unknown section codex"],
])("%s: one line on stderr, exit code 2", (word, problem) => {
  const run = bench(word);
  expect(run.status).toBe(2);
  expect(run.stderr).toBe(`bench: ${problem}; sections: codec, meter, e2e, footprint, recovery, mcsim (see --help)\n`);
  expect(run.stdout).toBe("");
});
