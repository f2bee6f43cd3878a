module.exports = { ...require('../../../jest.preset.js'), displayName: 'agent-pcap', rootDir: __dirname };
