/** Injection tokens of the NATS bus. */
/** The running bus consumer, or null when the hub has no bus (HTTP ingest only). */
export const BUS_STATUS = Symbol('BUS_STATUS');
