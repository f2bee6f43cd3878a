/** The throwaway namespace's addresses and ports, shared by ebpf-program.spec.ts (which sets them up) and the probe. */
export const PROBE = {
  client: '198.18.202.1',
  server: '198.18.202.1',
  serverPort: 18080,
  service: '198.18.202.2',
  servicePort: 80,
  snat: '198.18.202.3',
  droppedPort: 30099,
  otherDroppedPort: 30098,
  /** UDP: a DNS-like Service port DNAT'd to the server's udpServerPort, and a UDP Service port the filter table drops. */
  udpServicePort: 53,
  udpServerPort: 18053,
  udpDroppedPort: 30097,
  /**
   * UDP to zonePort is put in conntrack zone 1 by the raw table, then (rules replaced) zone 2: one tuple, two zones.
   * Each probe run sends it from zoneClientPort + (its pid % 10000), a tuple no earlier run left in the table.
   */
  zonePort: 18054,
  zoneClientPort: 40011,
  /**
   * SNAT exhaustion: exhaustPort is DNAT'd to the server's exhaustServerPort and SNAT'd to snat with only
   * exhaustSnatPorts source ports; the probe holds more connections than that open at once.
   */
  exhaustPort: 81,
  exhaustServerPort: 18081,
  exhaustSnatPorts: { min: 41000, max: 41003 },
};
