import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FAILURES } from "tether/diag/codes";
import { DOC_PATH, render } from "../../scripts/troubleshooting";

test("docs/troubleshooting.md is what scripts/troubleshooting.ts generates from codes.ts", () => {
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
