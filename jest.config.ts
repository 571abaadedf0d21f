// Tests are written in TypeScript under tests/ and compiled by `tsc` (see `npm test`) into dist/tests,
// so the code under test, the worker threads it starts and the CLI all run the same compiled JavaScript.
import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/tests'],
  testMatch: ['**/*.test.js'],
  setupFiles: ['<rootDir>/dist/tests/ci-no-skip.js'],
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
