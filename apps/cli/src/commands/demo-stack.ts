import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabState } from '@natlens/lab';
import { labDir } from '@natlens/lab';
import type { Logger } from 'pino';

/*
 * What the demo runs beside the lab: the hub (SQLite, in this process, also on a Unix socket inside the lab's
 * directory) and one `natlens agent` per lab node, inside that node's namespace, sending to the hub's socket —
 * agents reach the hub without any change to the host's network.
 */
const BIN = join(__dirname, '..', '..', '..', '..', 'bin', 'natlens');

export interface DemoStack {
  hubUrl: string;
  token: string;
  close(): Promise<void>;
}

export async function startDemoStack(state: LabState, options: { hubPort: number; agentSource?: string; log: Logger }): Promise<DemoStack> {
  const dir = labDir(state.name);
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'hub-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const socket = join(dir, 'hub.sock');
  // Loaded by path: the hub is an app of its own, and only the demo and `natlens hub` need it.
  const hubApp = (await import(join(__dirname, '..', '..', '..', 'hub', 'src', 'main'))) as typeof import('../../../hub/src/main');
  const config = hubApp.hubConfigSchema.parse({
    store: `sqlite://${join(dir, 'natlens.db')}`,
    port: options.hubPort,
    host: '127.0.0.1',
    socket,
    inventory: join(dir, 'inventory.json'),
    ingestTokens: [token],
    logLevel: 'warn',
  });
  const hub = await hubApp.startHub(config);
  const agents: ChildProcess[] = state.lab.nodes.map((node) => {
    const log = openSync(join(dir, 'logs', `agent-${node.name}.log`), 'a');
    const args = [
      'netns', 'exec', state.netns.nodes[node.name] as string, process.execPath, BIN, 'agent',
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
  return {
    hubUrl: hub.url,
    token,
    close: async () => {
      for (const agent of agents) agent.kill('SIGTERM');
      await hub.close();
    },
  };
}
