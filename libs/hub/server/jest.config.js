module.exports = { ...require('../../../jest.preset.js'), displayName: 'hub-server', rootDir: __dirname, testTimeout: 60_000 };
