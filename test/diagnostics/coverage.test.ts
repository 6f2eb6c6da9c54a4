// Every failure code has a test in this folder that produces its real cause and waits for the device to name it.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CODES } from "./helpers/device";

test("every failure code is produced and awaited by a diagnostics test", () => {
  const sources = readdirSync(__dirname)
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => readFileSync(join(__dirname, name), "utf8"))
    .join("\n");
  // Codes awaited directly, or through a table of cases whose rows start with the code.
  const awaited = CODES.filter(
    (code) => sources.includes(`waitForCode("${code}"`) || sources.includes(`["${code}", "`),
  );
  expect(awaited).toEqual(CODES);
});
