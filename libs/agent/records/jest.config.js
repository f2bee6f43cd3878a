module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-records', rootDir: __dirname, testTimeout: 60_000 };
