// The build scripts' pure parts (build/runtime-dependencies.cjs), tested beside them.
module.exports = { ...require('../jest.preset.js'), displayName: 'tools', rootDir: __dirname, testMatch: ['<rootDir>/build/*.spec.ts'] };
