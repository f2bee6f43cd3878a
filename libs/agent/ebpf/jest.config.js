module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-ebpf', rootDir: __dirname, testTimeout: 60_000 };
