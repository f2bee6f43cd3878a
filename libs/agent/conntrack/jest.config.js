module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-conntrack', rootDir: __dirname, testTimeout: 60_000 };
