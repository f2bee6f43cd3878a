export * from './conntrack-health';
export * from './nat-failures';
