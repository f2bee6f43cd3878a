/*
 * The ctnetlink codec: pure functions over Buffers, no I/O. Read a datagram with parseConntrackMessages() (or one
 * message with parseConntrackEntry()), or into the agent's lean entries with decodeConntrackDatagramLean(); write the
 * dump request with formatDumpRequest(). Malformed input throws ParseError (from @natlens/agent-pcap) with the byte
 * offset; nothing else is thrown for any input.
 */
export * from './attributes';
export * from './conntrack-entry';
export * from './conntrack-messages';
export * from './ctnetlink-constants';
export * from './decode-event-lean';
export * from './format-conntrack';
export * from './lean-conntrack-entry';
export * from './netlink-constants';
export * from './netlink-message';
export * from './parse-conntrack';
export * from './conntrack-stats';
