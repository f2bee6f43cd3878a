/** Injection token of the node-report store. */
export const NODE_REPORT_REPOSITORY = Symbol('NODE_REPORT_REPOSITORY');
