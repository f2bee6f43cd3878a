// What the agent's decoders (conntrack, eBPF, pcap) share about bytes on the wire: the typed ParseError with its
// offset, byte-order readers, and the one text form of IPv4/IPv6 addresses.
export * from './parse-error';
export * from './bytes';
export * from './ip-address';
