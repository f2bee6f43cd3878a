/** Injection tokens for what is not a class of ours. */
export const AGENT_CONFIG = Symbol('AGENT_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const CLUSTER_SOURCE = Symbol('CLUSTER_SOURCE');
export const CONNECTION_SOURCES = Symbol('CONNECTION_SOURCES');
export const HUB_EXPORTER = Symbol('HUB_EXPORTER');
export const HUB_TRANSPORT = Symbol('HUB_TRANSPORT');
export const CONNTRACK_HEALTH_PORT = Symbol('CONNTRACK_HEALTH_PORT');
/** The node's conntrack statistics as last read (nat-failure-estimator.ts ConntrackStatsReader), or null. */
export const CONNTRACK_STATS_READER = Symbol('CONNTRACK_STATS_READER');
