/** Injection tokens for what is not a class of ours. */
export const HUB_CONFIG = Symbol('HUB_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const FLOW_REPOSITORY = Symbol('FLOW_REPOSITORY');
export const CLUSTER_SOURCE = Symbol('CLUSTER_SOURCE');
export const CLOCK = Symbol('CLOCK');
/** The per-node lock every stored batch takes (ingest/node-lock.ts). */
export const NODE_LOCK = Symbol('NODE_LOCK');

export type Clock = () => number;
