export * from './netlink';
export * from './socket/netlink-socket';
export * from './socket/conntrack-reader';
export * from './socket/conntrack-stats-reader';
