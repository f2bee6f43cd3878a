/*
 * Runs inside a throwaway network namespace for conntrack-health.kernel.spec.ts (the agent reads its own namespace):
 * one sample with the real repository (ctnetlink statistics and dump, the sysctls, iptables-save and nft), printed
 * as one JSON line with what /metrics would show.
 */
import pino from 'pino';
import { agentConfigSchema } from '../../config/agent-config';
import { AgentMetrics } from '../../metrics/agent-metrics';
import { ConntrackHealthRepository } from '../conntrack-health.repository';
import { ConntrackHealthSampler } from '../conntrack-health.sampler';

async function main(): Promise<void> {
  const metrics = new AgentMetrics();
  const config = agentConfigSchema.parse({ node: 'probe', inventory: '/unused', conntrackSampleIntervalMs: 60_000 });
  const sut = new ConntrackHealthSampler(config, pino({ level: 'silent' }), metrics, new ConntrackHealthRepository());
  try {
    await sut.sampleNow();
    const text = await metrics.registry.metrics();
    const conntrackMetrics = text.split('\n').filter((line) => line.startsWith('natlens_agent_conntrack_'));
    process.stdout.write(`${JSON.stringify({ conntrack: sut.latest(), snatPorts: sut.latestSnatPorts(), status: sut.status(), metrics: conntrackMetrics })}\n`);
  } finally {
    await sut.onModuleDestroy();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
