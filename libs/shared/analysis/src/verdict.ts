import type { ClientKind, Verdict } from './types';

/*
 * DESIGN.md "Verdicts": what a translation means for the client's address, given the Service's policy.
 * kube-proxy masquerades by design in some cases (Cluster policy, node-local clients, hairpin); natlens calls those
 * expected, and reserves snat-unexpected for a lost client address the Service said it needed (Local policy, or the
 * natlens.io/expect-client-ip annotation).
 */
export interface VerdictInput {
  /** The destination was a Service frontend (or a Service endpoint reached on a forwarded leg). */
  service?: { externalTrafficPolicy: 'Cluster' | 'Local'; expectClientIP?: boolean };
  client: { kind: ClientKind };
  snat: boolean;
  hairpin: boolean;
  /** A PROXY protocol header or X-Forwarded-For named the client behind a proxying load balancer. */
  realClient?: boolean;
  /** The packets were dropped because the Local-policy node has no endpoint (eBPF drop event, unanswered SYNs). */
  droppedNoLocalEndpoint?: boolean;
  /** The first packet was dropped because conntrack could not insert the entry or NAT found no free tuple. */
  natFailure?: boolean;
}

export function classifyVerdict(input: VerdictInput): Verdict {
  if (input.natFailure) return 'dropped-nat-failure';
  if (input.droppedNoLocalEndpoint) return 'dropped-no-local-endpoint';
  if (!input.service) return 'not-service';
  if (input.realClient) return 'proxied';
  if (input.hairpin && input.snat) return 'hairpin-snat';
  if (!input.snat) return 'preserved';
  if (input.client.kind !== 'external') return 'snat-expected';
  const clientIPRequired = input.service.externalTrafficPolicy === 'Local' || input.service.expectClientIP === true;
  return clientIPRequired ? 'snat-unexpected' : 'snat-expected';
}
