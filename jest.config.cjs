/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.node.json" }] },
  moduleNameMapper: { "^tether/(.*)$": "<rootDir>/modules/$1" },
  testTimeout: 30000,
  reporters: ["default", "<rootDir>/test/summary-reporter.cjs"],
};
