import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabState } from '@natlens/lab';
import type { Logger } from 'pino';
import { DashboardProcess } from '@natlens/dashboard-launcher';
import { installRoot } from '../install-root';
import { nodeFlagsFor } from '../launch/node-flags';

/*
 * What the demo runs beside the lab: the hub (SQLite, in this process, also on a Unix socket inside the lab's
 * directory) and one `natlens agent` per lab node, inside that node's namespace, sending to the hub's socket —
 * agents reach the hub without any change to the host's network.
 */
const BIN = join(installRoot(), 'bin', 'natlens');

export interface DemoStack {
  hubUrl: string;
  token: string;
  /** A read-only hub token: what the dashboard uses. */
  readToken: string;
  /** Runs the dashboard's server (building it first from the sources when stale); resolves to its URL. */
  startDashboard(options: { port: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startDemoStack(state: LabState, options: { hubPort: number; agentSource?: string; log: Logger }): Promise<DemoStack> {
  const { labDir } = await import('@natlens/lab');
  const dir = labDir(state.name);
  const token = randomBytes(24).toString('hex');
  const readToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'hub-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const socket = join(dir, 'hub.sock');
  // Loaded only now: only the demo and `natlens hub` need the hub (and NestJS).
  const hubApp = await import('@natlens/hub-server');
  const config = hubApp.hubConfigSchema.parse({
    store: `sqlite://${join(dir, 'natlens.db')}`,
    port: options.hubPort,
    host: '127.0.0.1',
    socket,
    inventory: join(dir, 'inventory.json'),
    ingestTokens: [token],
    readTokens: [readToken],
    logLevel: 'warn',
  });
  const hub = await hubApp.startHub(config);
  const agents: ChildProcess[] = state.lab.nodes.map((node) => {
    const log = openSync(join(dir, 'logs', `agent-${node.name}.log`), 'a');
    const args = [
      'netns', 'exec', state.netns.nodes[node.name] as string, process.execPath, ...nodeFlagsFor(['agent'], process.env), BIN, 'agent',
      '--node', node.name,
      '--inventory', join(dir, 'inventory.json'),
      '--hub', `unix:${socket}`,
      '--hub-token-file', tokenFile,
      '--api-socket', join(dir, 'run', `agent-${node.name}.sock`),
      '--spool-dir', join(dir, 'spool', node.name),
      '--flush-interval-ms', '1000',
      '--enable-accounting',
      ...(options.agentSource ? ['--source', options.agentSource] : []),
    ];
    return spawn('ip', args, { stdio: ['ignore', log, log] });
  });
  options.log.info({ hub: hub.url, agents: agents.length }, 'hub and agents started');
  const dashboard = new DashboardProcess(join(dir, 'logs'), options.log);
  return {
    hubUrl: hub.url,
    token,
    readToken,
    startDashboard: ({ port }) => dashboard.start({ port, hubUrl: hub.url, hubToken: readToken, importToken: token }),
    close: async () => {
      for (const agent of agents) agent.kill('SIGTERM');
      await dashboard.stop();
      await hub.close();
    },
  };
}
