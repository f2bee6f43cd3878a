module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-daemon', rootDir: __dirname, testTimeout: 120_000 };
