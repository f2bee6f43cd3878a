module.exports = {
  ...require('../../../jest.preset.js'),
  ...require('./jest.kube-client.js'),
  displayName: 'shared-cluster',
  rootDir: __dirname,
  testTimeout: 60_000,
};
