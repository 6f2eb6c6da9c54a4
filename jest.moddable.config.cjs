// `npm run test:moddable`: the tests that build with the real Moddable SDK and run in mcsim (test/moddable/). One
// at a time: each build already uses both cores, and each mcsim has an X server of its own.
const base = require("./jest.config.cjs");

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ["<rootDir>/test/moddable"],
  testPathIgnorePatterns: [],
  testTimeout: 120000,
  maxWorkers: 1,
};
