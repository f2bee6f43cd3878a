export * from './decode/ebpf-event';
export * from './decode/event-layout';
export * from './decode/decode-events';
export * from './decode/format-event';
export * from './decode/nat-failure';
export * from './loader/capabilities';
export * from './loader/ebpf-program';
export * from './loader/open-ebpf';
