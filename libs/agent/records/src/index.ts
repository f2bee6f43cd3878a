// Observed connections → flow records: the enrich stage (cluster metadata + verdicts), the import of captures and
// conntrack dumps taken elsewhere (`natlens import`, the hub's upload), and the HTTP client that posts records to the
// hub. Shared by the agent, the hub and the CLI, so a file gives the same records whichever of them imports it.
export * from './observed-connection';
export * from './enrich';
export * from './hub-client';
export * from './import/capture-observation';
export * from './import/capture-import';
export * from './nat-failure-estimate';
