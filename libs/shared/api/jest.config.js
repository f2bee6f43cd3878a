module.exports = { ...require('../../../jest.preset.js'), displayName: 'shared-api', rootDir: __dirname };
