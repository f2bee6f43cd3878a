// The benches' pure helpers (bench/lib: the audit by identity), tested beside them; the benches themselves build labs
// and are run by hand (bench/README.md). The lint target (project.json) covers the same tested helpers.
module.exports = { ...require('../jest.preset.js'), displayName: 'bench', rootDir: __dirname, testMatch: ['<rootDir>/lib/*.spec.ts'] };
