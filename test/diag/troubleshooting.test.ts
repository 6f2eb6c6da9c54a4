import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FAILURES } from "tether/diag/failures";
import { DOC_PATH, render } from "../../scripts/troubleshooting";
import { PROSE } from "../../scripts/troubleshooting-causes";

test("docs/troubleshooting.md is what scripts/troubleshooting.ts generates from failures.ts", () => {
  const committed = readFileSync(join(__dirname, "../..", DOC_PATH), "utf8");
  // If this fails: node scripts/run-ts.mjs scripts/troubleshooting.ts
  expect(committed).toBe(render());
});

test("the doc has a contents entry and a section with a failure line for every code", () => {
  const doc = render();
  for (const { code, layer } of FAILURES) {
    expect(doc).toMatch(new RegExp(`\\| \\[\`${code}\`\\]\\(#${code}\\) +\\| ${layer} +\\|`));
    expect(doc).toContain(`## \`${code}\``);
    expect(doc).toMatch(new RegExp(`\\n81234 [EW] diag ${code} .*hint="`));
  }
  expect(doc).not.toContain("undefined");
});

test("every code has its prose (summary, causes with fixes, example), and no prose names an unknown code", () => {
  expect(Object.keys(PROSE).sort()).toEqual(FAILURES.map((f) => f.code).sort());
  for (const { code } of FAILURES) {
    const { summary, causes, example } = PROSE[code];
    expect(summary.length).toBeGreaterThan(10);
    expect(causes.length).toBeGreaterThan(0);
    for (const c of causes) expect(c.cause.length * c.fix.length).toBeGreaterThan(0);
    expect(Object.keys(example).length).toBeGreaterThan(0);
  }
});

test("the codes found from patterns across connections state the evidence they rest on", () => {
  const doc = render();
  for (const code of ["session_taken_over", "flapping", "nat_idle_timeout_suspected"] as const) {
    expect(PROSE[code].evidence?.length).toBeGreaterThan(100);
    expect(doc).toContain(`**Evidence**: ${PROSE[code].evidence}`);
  }
});
