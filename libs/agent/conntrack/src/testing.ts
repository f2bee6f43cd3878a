/*
 * Test fixtures for other projects: real ctnetlink bytes captured from the kernel, what each captured flow was,
 * and a fast-check generator of entries. Not part of the runtime API (src/index.ts).
 */
export { CAPTURED, CAPTURED_FLOWS, CONNTRACK_TOOL_LISTING, type CapturedDatagram } from './netlink/fixtures/captured';
export { capturedDatagram } from './netlink/fixtures/captured-datagram';
export { CAPTURED_FLOW_EXPECTATIONS, capturedFlowName, type CapturedFlow } from './netlink/fixtures/flows';
export { conntrackEntryArbitrary, conntrackTupleArbitrary } from './netlink/fixtures/arbitraries';
