import nx from '@nx/eslint-plugin';

const BOUNDARIES = { enforceBuildableLibDependency: true, allow: [] };

/** What the CLI loads only for the command that needs it (`natlens --help` loads none of them). */
const LAZY_LIBRARIES = ['@natlens/hub-server', '@natlens/hub-server/testing', '@natlens/agent-daemon', '@natlens/agent-daemon/testing', '@natlens/agent-records', '@natlens/lab', '@natlens/lab/testing'];

// Scopes (the folder is the scope): shared code depends only on shared code; each scope on itself and shared. The
// CLI is the composition root that starts the agent, the hub, the lab and the dashboard. The hub runs the agent's
// capture import on uploads: that one library carries `share:hub`, so the hub can use it and no other agent code;
// the lab's echo pods and load balancer speak PROXY protocol with agent-pcap's codec (`share:lab`).
const SCOPE_CONSTRAINTS = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:agent', 'scope:shared'] },
  { sourceTag: 'scope:hub', onlyDependOnLibsWithTags: ['scope:hub', 'scope:shared', 'share:hub'] },
  { sourceTag: 'scope:dashboard', onlyDependOnLibsWithTags: ['scope:dashboard', 'scope:shared'] },
  { sourceTag: 'scope:lab', onlyDependOnLibsWithTags: ['scope:lab', 'scope:shared', 'share:lab'] },
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:shared', 'scope:agent', 'scope:hub', 'scope:lab', 'scope:dashboard'] },
  // The build scripts (tools: bundling, the runtime's package list) stand apart from the product's code.
  { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:tools'] },
];

// Unit tests may also build their cluster from the lab's topologies (resolveLab + buildInventory: the same objects a
// lab run writes), so a spec's fixture and the lab cannot drift apart; production code still may not.
const SPEC_SCOPE_CONSTRAINTS = SCOPE_CONSTRAINTS.map((c) => ({ ...c, onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'scope:lab'])] }));

const TYPE_CONSTRAINTS = [
  // type:model depends on other models only (the API contracts name the flow records)
  { sourceTag: 'type:model', onlyDependOnLibsWithTags: ['type:model'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:model', 'type:util'] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:model', 'type:util', 'type:data-access'] },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:model', 'type:util', 'type:data-access', 'type:feature', 'type:ui'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:model', 'type:util', 'type:data-access', 'type:feature', 'type:ui'] },
];

const PLATFORM_CONSTRAINTS = [
  {
    sourceTag: 'platform:web',
    onlyDependOnLibsWithTags: ['platform:web', 'platform:any'],
    bannedExternalImports: ['@nestjs/*', 'better-sqlite3', 'pg', 'nats', 'node:*'],
  },
  {
    sourceTag: 'platform:node',
    onlyDependOnLibsWithTags: ['platform:node', 'platform:any'],
    bannedExternalImports: ['react', 'react-dom', 'next', 'next/*', 'chart.js', 'react-chartjs-2'],
  },
  {
    sourceTag: 'platform:any',
    onlyDependOnLibsWithTags: ['platform:any'],
    bannedExternalImports: ['@nestjs/*', 'react', 'next', 'chart.js', 'better-sqlite3', 'pg', 'nats', 'node:*'],
  },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/.nx', 'artifacts'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { ...BOUNDARIES, depConstraints: [...SCOPE_CONSTRAINTS, ...TYPE_CONSTRAINTS, ...PLATFORM_CONSTRAINTS] },
      ],
    },
  },
  {
    // Tests may import what the CLI loads lazily (a test has no start-up time to save), and the lab's topologies.
    files: ['**/*.spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { ...BOUNDARIES, depConstraints: [...SPEC_SCOPE_CONSTRAINTS, ...TYPE_CONSTRAINTS, ...PLATFORM_CONSTRAINTS], checkDynamicDependenciesExceptions: LAZY_LIBRARIES },
      ],
    },
  },
  {
    // End-to-end tests boot the whole system (hub, agents, lab, dashboard) as node programs, so they may use every
    // scope and platform; the layering of types still holds. Production code lives in no e2e folder.
    files: ['**/e2e/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { ...BOUNDARIES, depConstraints: TYPE_CONSTRAINTS, checkDynamicDependenciesExceptions: LAZY_LIBRARIES }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
