export * from './kubernetes';
export * from './flow-record';
