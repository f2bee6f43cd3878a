export * from './parse-error';
export * from './proxy-protocol';
