import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitForAgentsReady } from '@natlens/lab';
import { AGENT_NODE_FLAGS, AGENT_NODE_FLAGS_ENV, nodeFlagsFor, RELAUNCHED_ENV, relaunchCommand } from './node-flags';

const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..');
const BIN = join(ROOT, 'bin', 'natlens');

describe('relaunchCommand', () => {
  const base = { execPath: '/usr/bin/node', script: '/opt/natlens/bin/natlens', env: {} as NodeJS.ProcessEnv };
  it.each([
    ['the agent without its flags', { execArgv: [], args: ['agent', '--node', 'n1'] }, ['/usr/bin/node', ...AGENT_NODE_FLAGS, '/opt/natlens/bin/natlens', 'agent', '--node', 'n1']],
    ['the agent with other Node flags: kept, after the missing ones', { execArgv: ['--inspect'], args: ['agent'] }, ['/usr/bin/node', ...AGENT_NODE_FLAGS, '--inspect', '/opt/natlens/bin/natlens', 'agent']],
    ['the agent with its flags', { execArgv: [...AGENT_NODE_FLAGS], args: ['agent'] }, undefined],
    ['the agent with its flags spelt with underscores', { execArgv: AGENT_NODE_FLAGS.map((f) => f.replace(/(?<=\w)-/g, '_')), args: ['agent'] }, undefined],
    ['another command', { execArgv: [], args: ['hub', '--port', '8470'] }, undefined],
    ['no command', { execArgv: [], args: [] }, undefined],
    ['an option named agent, not the command', { execArgv: [], args: ['lab', 'up', 'agent'] }, undefined],
    ['a relaunched child, whatever its flags', { execArgv: [], args: ['agent'], env: { [RELAUNCHED_ENV]: '1' } }, undefined],
    ['the agent with the flags replaced by none', { execArgv: [], args: ['agent'], env: { [AGENT_NODE_FLAGS_ENV]: '' } }, undefined],
    ['the agent with the flags replaced', { execArgv: [], args: ['agent'], env: { [AGENT_NODE_FLAGS_ENV]: ' --max-semi-space-size=32  --single-threaded-gc ' } }, ['/usr/bin/node', '--max-semi-space-size=32', '--single-threaded-gc', '/opt/natlens/bin/natlens', 'agent']],
    ['a replaced flag already given with another value counts as missing', { execArgv: ['--max-semi-space-size=16'], args: ['agent'], env: { [AGENT_NODE_FLAGS_ENV]: '--max-semi-space-size=32' } }, ['/usr/bin/node', '--max-semi-space-size=32', '--max-semi-space-size=16', '/opt/natlens/bin/natlens', 'agent']],
  ])('%s', (_name, input, expected) => {
    expect(relaunchCommand({ ...base, ...input, env: { ...base.env, ...(input as { env?: NodeJS.ProcessEnv }).env } })).toEqual(expected);
  });

  it("is what the DaemonSet starts the agent with (the chart cannot import this list)", () => {
    // the chart's commands live in one helper (templates/_helpers.tpl, natlens.command); the agent's is its first branch
    const helpers = readFileSync(join(ROOT, 'deploy', 'helm', 'natlens', 'templates', '_helpers.tpl'), 'utf8');
    const command = /\{\{- if eq \.component "agent" -\}\}\s*(\[.*\])\s*$/m.exec(helpers)?.[1];
    expect(command && (JSON.parse(command) as string[])).toEqual(['node', ...AGENT_NODE_FLAGS, 'bin/natlens', 'agent']);
    expect(readFileSync(join(ROOT, 'deploy', 'helm', 'natlens', 'templates', 'agent-daemonset.yaml'), 'utf8')).toMatch(/command: \{\{ include "natlens\.command" \(dict "root" \. "component" "agent"\) \}\}/);
  });

  it('asks only the agent for flags', () => {
    expect(nodeFlagsFor(['agent'], {})).toEqual([...AGENT_NODE_FLAGS]);
    for (const command of ['hub', 'lab', 'demo', 'import', 'explain']) expect(nodeFlagsFor([command], {})).toEqual([]);
  });
});

/*
 * bin/natlens as an operator starts it, without the flags: the agent must run in a child that has them, the parent
 * must pass on SIGTERM and end as the child ends, and a parent killed outright must not leave the agent behind.
 * The agent runs in a network namespace of its own (conntrack source, no hub), so nothing of the host is read.
 */
describe('natlens agent started without its Node flags (root: network namespace)', () => {
  const netns = `nlt-launch-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const dir = mkdtempSync(join(tmpdir(), 'natlens-launch-'));
  const inventory = join(dir, 'inventory.json');
  const started: number[] = [];

  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    await exec('ip', ['netns', 'add', netns]);
  });
  afterAll(async () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exec('ip', ['netns', 'del', netns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startAgent(name: string) {
    const socket = join(dir, `${name}.sock`);
    let output = '';
    const parent = spawn('ip', ['netns', 'exec', netns, process.execPath, BIN, 'agent', '--node', name, '--inventory', inventory, '--source', 'conntrack', '--api-socket', socket, '--spool-dir', join(dir, `spool-${name}`), '--log-level', 'warn'], {
      cwd: ROOT,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== RELAUNCHED_ENV && k !== AGENT_NODE_FLAGS_ENV)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    parent.stdout.on('data', (c: Buffer) => (output += c.toString()));
    parent.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => parent.once('exit', (code, signal) => resolve({ code, signal })));
    started.push(parent.pid as number);
    let exited = false;
    void exit.then(() => (exited = true));
    await waitForAgentsReady([{ node: name, apiSocket: socket, failed: () => (exited ? `it exited: ${output}` : undefined) }], { timeoutMs: 45_000 });
    const children = childrenOf(parent.pid as number);
    started.push(...children);
    return { parent, exit, children, socket, output: () => output };
  }

  it('runs the agent in one child with the flags, and ends as it ends on SIGTERM', async () => {
    const agent = await startAgent('n1');
    expect(agent.children).toHaveLength(1);
    const child = agent.children[0] as number;
    const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(1, 1 + AGENT_NODE_FLAGS.length)).toEqual([...AGENT_NODE_FLAGS]);
    expect(argv).toEqual(expect.arrayContaining([BIN, 'agent', '--node', 'n1']));
    expect(childrenOf(child)).toEqual([]); // the child does not start itself again

    agent.parent.kill('SIGTERM');
    const ended = await agent.exit;
    // the agent ends on SIGTERM after its shutdown hooks; the parent ends the same way, by that signal
    expect(ended).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(`/proc/${child}`)).toBe(false);
  }, 90_000);

  it('ends the agent when the parent is killed outright', async () => {
    const agent = await startAgent('n2');
    const child = agent.children[0] as number;
    agent.parent.kill('SIGKILL');
    await agent.exit;
    // the child notices within a second and then shuts down gracefully (flush, close sockets): seconds on a loaded CI machine
    await until(async () => !existsSync(`/proc/${child}`), 30_000, () => `agent ${child} still runs 30 s after its parent was killed (${processState(child)}); its output: ${agent.output()}`);
  }, 90_000);
});

/** State and parent of a process from /proc/<pid>/stat, to tell a running agent from an unreaped one. */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `state ${state}, parent ${ppid}`;
  } catch {
    return 'gone';
  }
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 100));
  }
}
