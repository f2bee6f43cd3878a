import type { ClusterIndex } from '@natlens/shared-cluster';

/**
 * The BPF filter for the Services' TCP ports: node ports and Service ports (the client's leg) and numeric target
 * ports (the pod's leg). With no Service known yet, all of TCP (the filter follows the Services as they change).
 */
export function servicePortFilter(index: ClusterIndex): string {
  const ports = new Set<number>();
  for (const info of index.services()) {
    for (const port of index.service(info)?.ports ?? []) {
      if (port.protocol !== 'TCP') continue;
      ports.add(port.port);
      if (port.nodePort) ports.add(port.nodePort);
      if (typeof port.targetPort === 'number') ports.add(port.targetPort);
    }
  }
  if (ports.size === 0) return 'tcp';
  return `tcp and (${[...ports].sort((a, b) => a - b).map((p) => `port ${p}`).join(' or ')})`;
}
