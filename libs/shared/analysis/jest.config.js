module.exports = { ...require('../../../jest.preset.js'), displayName: 'shared-analysis', rootDir: __dirname, testTimeout: 60_000 };
