module.exports = { ...require('../../../jest.preset.js'), displayName: 'shared-auth', rootDir: __dirname, testTimeout: 60_000 };
