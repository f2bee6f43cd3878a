module.exports = { ...require('../../jest.preset.js'), displayName: 'cli', rootDir: __dirname, testTimeout: 120_000 };
