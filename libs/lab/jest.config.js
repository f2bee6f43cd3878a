module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'lab',
  rootDir: __dirname,
  // scenario suites build real namespaces and make hundreds of connections
  testTimeout: 120_000,
};
