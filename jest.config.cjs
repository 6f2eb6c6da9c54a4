/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Built with the Moddable SDK and run in mcsim: `npm run test:moddable` (jest.moddable.config.cjs).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/moddable/"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.node.json" }] },
  moduleNameMapper: { "^tether/(.*)$": "<rootDir>/modules/$1" },
  // A hang guard only: waits end on events (their own guard is 20 s), and a busy machine may take long.
  testTimeout: 60000,
  // Most tests wait on sockets and timers, not the CPU: one worker per core of the 2-core machines CI and users run.
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/summary-reporter.cjs"],
};
