export * from './translation';
export * from './verdict';
export * from './types';
export * from './evidence';
export * from './alerts';
export * from './entry';
export * from './nodes';
