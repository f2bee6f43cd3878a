// @kubernetes/client-node 1.x and some of its dependencies are ES modules, which jest (on Node 20) cannot require.
// This lets @swc/jest compile them to CommonJS. Spread it into the jest config of any project whose tests start a
// KubeApiWatcher (the rest of @natlens/shared-cluster does not load the client):
//   module.exports = { ...require('../../../jest.preset.js'), ...require('<path>/libs/shared/cluster/jest.kube-client.js'), ... }
const { transform } = require('../../../jest.preset.js');

const ESM_PACKAGES = ['@kubernetes/client-node', 'jsonpath-plus', '@jsep-plugin', 'jsep', 'openid-client', 'jose', 'oauth4webapi', 'rfc4648'];

module.exports = {
  transform: { ...transform, '^.+\\.m?js$': transform['^.+\\.ts$'] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
};
