// The chart's and the Prometheus rules' checks: helm lint/template against the Kubernetes schemas, promtool.
// kubernetes-models and @kubernetes/client-node ship ES modules only: @swc/jest compiles them to CommonJS. Their
// export maps name only the "import" condition, which jest's CommonJS resolver does not use (and turning it on for
// every package breaks jest's own dependencies), so their paths are mapped to the files here.
const path = require('node:path');
const preset = require('../jest.preset.js');

const modules = path.join(__dirname, '..', 'node_modules');
const ESM_PACKAGES = ['kubernetes-models', '@kubernetes-models', '@kubernetes/client-node', 'is-cidr', 'cidr-regex', 'ip-regex', 're2-wasm'];

module.exports = {
  ...preset,
  displayName: 'deploy',
  rootDir: __dirname,
  testTimeout: 120_000,
  transform: { ...preset.transform, '^.+\\.m?js$': preset.transform['^.+\\.ts$'] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    '^kubernetes-models/(.+?)(\\.js)?$': `${modules}/kubernetes-models/$1.js`,
    '^@kubernetes-models/(apimachinery|prometheus-operator)/(.+?)(\\.js)?$': `${modules}/@kubernetes-models/$1/$2.js`,
    '^@kubernetes-models/(validate|base)$': `${modules}/@kubernetes-models/$1/dist/index.js`,
    '^@kubernetes-models/validate/runtime/(.+?)(\\.js)?$': `${modules}/@kubernetes-models/validate/dist/runtime/$1.js`,
  },
};
