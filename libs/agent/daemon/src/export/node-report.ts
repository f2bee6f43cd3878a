import { NODE_REPORT_VERSION, type NodeReport } from '@natlens/shared-model';
import type { HealthCheckResults } from '../health-checks/health-check-prober';
import { type InterfaceAddressInfo, reportableAddresses } from '../node/interface-addresses';

/** This node's report at `at`: its interface addresses and the health-check answers probed last. Pure. */
export function buildNodeReport(node: string, at: number, intervalMs: number, addresses: readonly InterfaceAddressInfo[], checks: HealthCheckResults): NodeReport {
  return {
    version: NODE_REPORT_VERSION,
    node,
    at,
    intervalMs,
    addresses: reportableAddresses(addresses),
    healthChecks: [...checks.healthChecks],
    ...(checks.proxyHealth ? { proxyHealth: checks.proxyHealth } : {}),
  };
}
