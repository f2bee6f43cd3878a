module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-wire', rootDir: __dirname };
