export * from './kubernetes';
export * from './flow-record';
export * from './import-summary';
export * from './node-report';
export * from './kubernetes-names';
