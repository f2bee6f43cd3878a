import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * In a real Node process (what `natlens agent` runs in): without the guards an unawaited rejection or a throw in a
 * timer ends the process; with them both are logged and counted and the process goes on.
 */
const WORKSPACE = join(__dirname, '..', '..', '..', '..');

function run(withGuards: boolean): { status: number | null; stdout: string } {
  const script = `
    const pino = require('pino');
    const { AgentMetrics } = require(${JSON.stringify(join(__dirname, 'metrics', 'agent-metrics.ts'))});
    const { installProcessGuards } = require(${JSON.stringify(join(__dirname, 'process-guards.ts'))});
    const metrics = new AgentMetrics();
    if (${withGuards}) installProcessGuards(process, pino(), () => metrics);
    Promise.reject(new Error('nobody awaited this'));
    setTimeout(() => { throw new Error('thrown in a timer'); }, 10);
    setTimeout(async () => {
      const counted = (await metrics.registry.getSingleMetric('natlens_agent_unexpected_errors_total').get()).values.map((v) => v.labels.where + '=' + v.value).sort();
      console.log('still running: ' + counted.join(','));
    }, 300);
  `;
  const child = spawnSync(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: WORKSPACE, encoding: 'utf8', timeout: 60_000, env: { ...process.env, SWC_NODE_PROJECT: join(WORKSPACE, 'tsconfig.base.json') } });
  return { status: child.status, stdout: child.stdout };
}

describe('installProcessGuards', () => {
  it('keeps the process running through an unhandled rejection and an uncaught exception, logging and counting both', () => {
    const { status, stdout } = run(true);
    expect(stdout).toContain('still running: uncaught-exception=1,unhandled-rejection=1');
    expect(stdout).toContain('nobody awaited this');
    expect(stdout).toContain('thrown in a timer');
    expect(status).toBe(0);
  });

  it('is what keeps it alive: the same process without them dies', () => {
    const { status, stdout } = run(false);
    expect(stdout).not.toContain('still running');
    expect(status).not.toBe(0);
  });
});
