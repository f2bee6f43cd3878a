// Pure unit tests (lib/**/*.spec.ts) and the browser tests against the demo stack (e2e/**/*.spec.ts).
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'dashboard',
  rootDir: __dirname,
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/e2e/**/*.spec.ts'],
  testTimeout: 240_000,
};
