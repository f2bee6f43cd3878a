module.exports = { ...require('../../jest.preset.js'), displayName: 'hub', rootDir: __dirname, testTimeout: 60_000 };
