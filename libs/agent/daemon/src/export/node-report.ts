import { type ConntrackStats, NODE_REPORT_VERSION, type NodeReport, type SnatPortUsage } from '@natlens/shared-model';
import type { HealthCheckResults } from '../health-checks/health-check-prober';
import { type InterfaceAddressInfo, reportableAddresses } from '../node/interface-addresses';

export interface ConntrackHealth {
  conntrack?: ConntrackStats | undefined;
  snatPorts?: readonly SnatPortUsage[] | undefined;
}

/**
 * This node's report at `at`: its interface addresses, the health-check answers probed last, and the latest conntrack
 * statistics and SNAT port usage (each left out when the last sample could not read it). Pure.
 */
export function buildNodeReport(node: string, at: number, intervalMs: number, addresses: readonly InterfaceAddressInfo[], checks: HealthCheckResults, health: ConntrackHealth = {}): NodeReport {
  return {
    version: NODE_REPORT_VERSION,
    node,
    at,
    intervalMs,
    addresses: reportableAddresses(addresses),
    healthChecks: [...checks.healthChecks],
    ...(checks.proxyHealth ? { proxyHealth: checks.proxyHealth } : {}),
    ...(health.conntrack ? { conntrack: health.conntrack } : {}),
    ...(health.snatPorts ? { snatPorts: [...health.snatPorts] } : {}),
  };
}
