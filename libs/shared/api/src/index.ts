// The contracts between natlens's processes that are not flow records themselves (those are @natlens/shared-model):
// REST responses and the API error body, the socket.io event maps, the alert types, the NATS stream contract.
export * from './alerts';
export * from './errors';
export * from './rest';
export * from './live';
export * from './flow-stream';
export * from './nodes';
