module.exports = { ...require('../../../jest.preset.js'), displayName: 'shared-model', rootDir: __dirname };
