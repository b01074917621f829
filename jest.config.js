/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
  reporters: ['default', '<rootDir>/.ci/results-reporter.js'],
  testTimeout: 600000,
};
