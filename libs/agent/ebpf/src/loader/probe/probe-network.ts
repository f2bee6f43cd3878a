/** The throwaway namespace's addresses and ports, shared by ebpf-program.spec.ts (which sets them up) and the probe. */
export const PROBE = { client: '198.18.202.1', server: '198.18.202.1', serverPort: 18080, service: '198.18.202.2', servicePort: 80, snat: '198.18.202.3', droppedPort: 30099, otherDroppedPort: 30098 };
