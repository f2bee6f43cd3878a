import type { EvidenceFigure, FigureSource, ServiceEvidence } from '../lib/api-types';

/*
 * A label saying where a figure comes from (ServiceEvidence.provenance, libs/shared/analysis evidence-types.ts):
 * observed in the agents' records, or derived from the cluster's objects, stated, inferred or assumed.
 */
const LABELS: Record<FigureSource, { text: string; title: string }> = {
  observed: { text: 'observed', title: 'Counted from the connections the agents recorded' },
  cluster: { text: 'from cluster objects', title: "Derived from the cluster's Services, EndpointSlices, Nodes, Pods and workloads" },
  records: { text: 'from records', title: 'Derived from the records alone: the hub has no cluster metadata, so idle pods and nodes are missing' },
  annotation: { text: 'stated by annotation', title: 'Stated by the Service annotation natlens.io/lb-distribution' },
  inferred: { text: 'inferred from observations', title: 'Inferred from the observed split of connections over entry nodes (a chi-square test)' },
  assumed: { text: 'assumed', title: 'A default: neither stated by an annotation nor inferred from the observations' },
};

export function Provenance({ evidence, figure }: { evidence: ServiceEvidence; figure: EvidenceFigure }) {
  const source = evidence.provenance[figure];
  if (source === undefined) return null;
  const label = LABELS[source];
  // the observed health check is what the agents' probes answered, not a count of connections
  const title = figure === 'nodes.healthCheck.observed' ? "What the node's health check answered when its agent probed it as a load balancer does" : label.title;
  const text = label.text;
  return (
    <span className={`prov prov-${source}`} data-provenance={figure} data-source={source} title={title}>
      {text}
    </span>
  );
}
