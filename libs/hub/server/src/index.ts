// The hub (NestJS): started by `natlens hub` and by the demo. Its code is a library so that the CLI reaches it
// through an import the module-boundary lint sees; the CLI loads it lazily (`natlens --help` never loads NestJS).
export * from './hub-server';
export type { FlowRepository } from './storage/flow-repository';
export { openFlowRepository } from './storage/open-flow-repository';
