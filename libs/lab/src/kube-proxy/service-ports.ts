import { isIPv4 } from 'node:net';
import { KubeEndpointSlice, KubeService, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { formatIpv4Cidr, parseIpv4Cidr } from './ipv4';
import { servicePortName } from './chain-names';

/*
 * What both of kube-proxy's rule writers (iptables and nftables) start from: its view of each Service port on one
 * node. This follows kube-proxy's own bookkeeping (pkg/proxy: ServiceChangeTracker, EndpointSliceCache,
 * CategorizeEndpoints) so that the two renderers only have to decide how to spell the rules:
 * - Services without a ClusterIP (headless) and ExternalName Services get no rules;
 * - an endpoint is its first address and the slice port whose name and protocol match the Service port; endpoints
 *   are deduplicated by "ip:port" and sorted by that text (a string sort, as kube-proxy's byEndpoint does);
 * - ready means `ready` unset or true, serving likewise, terminating only when set; serving-terminating endpoints
 *   are used only when no ready one exists;
 * - topology hints are not modelled (no lab Service asks for them).
 */

export type KubeProxyProtocol = 'tcp' | 'udp' | 'sctp';

export interface KubeProxyEndpoint {
  ip: string;
  port: number;
  /** "ip:port", kube-proxy's Endpoint.String(): the sort key, the hash input and the DNAT target. */
  text: string;
  nodeName?: string;
  local: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface KubeProxyServicePort {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed). */
  portName: string;
  /** kube-proxy's ServicePortName.String(): "namespace/name:port" (":port" only when the port is named). */
  portNameString: string;
  protocol: KubeProxyProtocol;
  port: number;
  /** 0 when the port has none. */
  nodePort: number;
  clusterIP: string;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  /** Normalised to their networks ("203.0.113.0/25"); unparseable ones are dropped, as kube-proxy does. */
  loadBalancerSourceRanges: string[];
  /** Only for LoadBalancer Services with Local external policy (kube-proxy's NeedsHealthCheck); else 0. */
  healthCheckNodePort: number;
  externallyAccessible: boolean;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** Seconds of client-IP affinity, when sessionAffinity is ClientIP. */
  stickyMaxAgeSeconds?: number;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
  clusterEndpoints: KubeProxyEndpoint[];
  localEndpoints: KubeProxyEndpoint[];
  /** The endpoints this node may DNAT to under either policy (the union, in sorted order). */
  allLocallyReachableEndpoints: KubeProxyEndpoint[];
  /** Whether the Service has a usable endpoint on any node. */
  hasEndpoints: boolean;
}

/** kube-proxy's default ClientIP affinity timeout (v1.DefaultClientIPServiceAffinitySeconds). */
export const DEFAULT_AFFINITY_SECONDS = 10800;

function endpointsOf(svc: KubeService, portName: string, protocol: string, slices: KubeEndpointSlice[], nodeName: string): KubeProxyEndpoint[] {
  const byText = new Map<string, KubeProxyEndpoint>();
  for (const slice of slices) {
    if (slice.metadata.namespace !== svc.metadata.namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
    if (slice.addressType !== 'IPv4') continue;
    for (const slicePort of slice.ports ?? []) {
      if ((slicePort.name ?? '') !== portName || slicePort.protocol !== protocol || !slicePort.port) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses[0];
        if (ip === undefined || !isIPv4(ip)) continue;
        const terminating = ep.conditions.terminating === true;
        const endpoint: KubeProxyEndpoint = {
          ip,
          port: slicePort.port,
          text: `${ip}:${slicePort.port}`,
          nodeName: ep.nodeName,
          local: ep.nodeName !== undefined && ep.nodeName === nodeName,
          ready: ep.conditions.ready !== false,
          serving: ep.conditions.serving !== false,
          terminating,
        };
        // The same address in two slices: prefer the one that is not terminating (EndpointSliceCache.addEndpoints).
        if (!byText.has(endpoint.text) || !terminating) byText.set(endpoint.text, endpoint);
      }
    }
  }
  return [...byText.values()].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

function categorize(port: Omit<KubeProxyServicePort, 'clusterEndpoints' | 'localEndpoints' | 'allLocallyReachableEndpoints' | 'hasEndpoints'>, endpoints: KubeProxyEndpoint[]) {
  let clusterEndpoints: KubeProxyEndpoint[] = [];
  let localEndpoints: KubeProxyEndpoint[] = [];
  let hasEndpoints = false;
  if (port.usesClusterEndpoints) {
    clusterEndpoints = endpoints.filter((ep) => ep.ready);
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }
  if (!port.usesLocalEndpoints) return { clusterEndpoints, localEndpoints, allLocallyReachableEndpoints: clusterEndpoints, hasEndpoints };

  const usable = endpoints.filter((ep) => ep.ready || (ep.serving && ep.terminating));
  if (usable.length > 0) hasEndpoints = true;
  if (endpoints.some((ep) => ep.local && ep.ready)) localEndpoints = endpoints.filter((ep) => ep.local && ep.ready);
  else localEndpoints = endpoints.filter((ep) => ep.local && ep.serving && ep.terminating);
  if (!port.usesClusterEndpoints) return { clusterEndpoints, localEndpoints, allLocallyReachableEndpoints: localEndpoints, hasEndpoints };

  const union = new Set([...clusterEndpoints, ...localEndpoints]);
  return { clusterEndpoints, localEndpoints, allLocallyReachableEndpoints: endpoints.filter((ep) => union.has(ep)), hasEndpoints };
}

/** Every Service port kube-proxy on `nodeName` writes rules for, in namespace/name/port order. */
export function servicePortsForNode(services: KubeService[], endpointSlices: KubeEndpointSlice[], nodeName: string): KubeProxyServicePort[] {
  const result: KubeProxyServicePort[] = [];
  const sorted = [...services].sort((a, b) => {
    const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const svc of sorted) {
    const spec = svc.spec;
    const clusterIP = spec.clusterIP;
    if (spec.type === 'ExternalName' || !clusterIP || clusterIP === 'None' || !isIPv4(clusterIP)) continue;
    const namespace = svc.metadata.namespace ?? 'default';
    const externalIPs = (spec.externalIPs ?? []).filter((ip) => isIPv4(ip));
    // A load balancer in "Proxy" IP mode delivers to the node itself, so kube-proxy does not capture its IP.
    const loadBalancerVIPs = (svc.status.loadBalancer?.ingress ?? [])
      .filter((ingress) => ingress.ipMode !== 'Proxy')
      .map((ingress) => ingress.ip)
      .filter((ip): ip is string => ip !== undefined && isIPv4(ip));
    const loadBalancerSourceRanges = (spec.loadBalancerSourceRanges ?? [])
      .map(parseIpv4Cidr)
      .filter((cidr) => cidr !== undefined)
      .map(formatIpv4Cidr);
    const typeExternallyAccessible = spec.type === 'LoadBalancer' || spec.type === 'NodePort' || externalIPs.length > 0;
    const needsHealthCheck = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
    for (const port of spec.ports) {
      const portName = port.name ?? '';
      const nodePort = port.nodePort ?? 0;
      const externallyAccessible = nodePort !== 0 || loadBalancerVIPs.length > 0 || externalIPs.length > 0;
      const externalPolicyLocal = typeExternallyAccessible && spec.externalTrafficPolicy === 'Local';
      const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
      const base = {
        namespace,
        name: svc.metadata.name,
        portName,
        portNameString: servicePortName(namespace, svc.metadata.name, portName),
        protocol: port.protocol.toLowerCase() as KubeProxyProtocol,
        port: port.port,
        nodePort,
        clusterIP,
        externalIPs,
        loadBalancerVIPs,
        loadBalancerSourceRanges,
        healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
        externallyAccessible,
        externalPolicyLocal,
        internalPolicyLocal,
        ...(spec.sessionAffinity === 'ClientIP'
          ? { stickyMaxAgeSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS }
          : {}),
        // Even with Local external policy the Cluster endpoints are needed, to short-circuit pod and node traffic.
        usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
        usesLocalEndpoints: internalPolicyLocal || (externalPolicyLocal && externallyAccessible),
      };
      result.push({ ...base, ...categorize(base, endpointsOf(svc, portName, port.protocol, endpointSlices, nodeName)) });
    }
  }
  return result;
}
