export * from './alert-types';
export * from './alert-rules';
export * from './alert-signals';
export * from './alert-state-machine';
export * from './duration';
