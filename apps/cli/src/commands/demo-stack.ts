import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
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
/** An agent loads its eBPF program (or dumps conntrack) and reads the inventory within seconds; this is the outer bound. */
const AGENTS_READY_TIMEOUT_MS = 120_000;

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
  const agentLog = (node: string) => join(dir, 'logs', `agent-${node}.log`);
  const agentSocket = (node: string) => join(dir, 'run', `agent-${node}.sock`);
  const agents: ChildProcess[] = state.lab.nodes.map((node) => {
    const log = openSync(agentLog(node.name), 'a');
    const args = [
      'netns', 'exec', state.netns.nodes[node.name] as string, process.execPath, ...nodeFlagsFor(['agent'], process.env), BIN, 'agent',
      '--node', node.name,
      '--inventory', join(dir, 'inventory.json'),
      '--hub', `unix:${socket}`,
      '--hub-token-file', tokenFile,
      '--api-socket', agentSocket(node.name),
      '--spool-dir', join(dir, 'spool', node.name),
      '--flush-interval-ms', '1000',
      '--enable-accounting',
      ...(options.agentSource ? ['--source', options.agentSource] : []),
    ];
    const child = spawn('ip', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    return child;
  });
  // Announced only once every agent observes (its /readyz): traffic sent before that would not be recorded.
  try {
    const { waitForAgentsReady } = await import('@natlens/lab');
    await waitForAgentsReady(
      state.lab.nodes.map((node, i) => ({
        node: node.name,
        apiSocket: agentSocket(node.name),
        failed: () => {
          const child = agents[i];
          return child && (child.exitCode !== null || child.signalCode !== null) ? `it exited (${child.exitCode ?? child.signalCode}); ${agentLog(node.name)}:\n${tail(agentLog(node.name))}` : undefined;
        },
      })),
      { timeoutMs: AGENTS_READY_TIMEOUT_MS },
    );
  } catch (err) {
    for (const agent of agents) agent.kill('SIGTERM');
    await hub.close();
    throw err;
  }
  options.log.info({ hub: hub.url, agents: agents.length }, 'hub and agents ready: every agent observes');
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

/** The last lines of a log file, for an error message ('' when it cannot be read). */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
