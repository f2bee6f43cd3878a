import { request } from 'node:http';

/*
 * Waiting for `natlens agent`s to be ready: GET /readyz on each agent's local API (a Unix socket) until it answers
 * 200, i.e. every source it runs observes and its cluster metadata is loaded. The one way the demo, the lab suites
 * and the benchmarks wait for agents: traffic sent before that would not be recorded.
 */
export interface AgentToWaitFor {
  readonly node: string;
  /** The agent's --api-socket. */
  readonly apiSocket: string;
  /** Why the agent will never be ready (it exited, with its log), or undefined while it runs. */
  readonly failed?: () => string | undefined;
}

export interface ReadinessAnswer {
  readonly ready: boolean;
  /** What the agent said it waits for, or why it did not answer. */
  readonly detail: string;
}

/** One GET /readyz over the agent's socket. */
export function agentReadiness(apiSocket: string, timeoutMs = 2000): Promise<ReadinessAnswer> {
  return new Promise((resolve) => {
    const req = request({ socketPath: apiSocket, path: '/readyz', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 200) return resolve({ ready: true, detail: 'ready' });
        let waitingFor: unknown;
        try {
          waitingFor = (JSON.parse(body) as { waitingFor?: unknown }).waitingFor;
        } catch {
          // not the agent's JSON
        }
        resolve({ ready: false, detail: Array.isArray(waitingFor) ? `waiting for ${waitingFor.join(', ')}` : `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ready: false, detail: `its API does not answer yet (${err.message})` }));
    req.end();
  });
}

/** Resolves once every agent answers /readyz with 200; rejects when one fails or the time is up, saying where each stands. */
export async function waitForAgentsReady(agents: readonly AgentToWaitFor[], options: { timeoutMs: number; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Map(agents.map((agent) => [agent.node, agent]));
  const last = new Map<string, string>();
  for (;;) {
    for (const agent of pending.values()) {
      const failure = agent.failed?.();
      if (failure !== undefined) throw new Error(`the agent of ${agent.node} will not become ready: ${failure}`);
    }
    const answers = await Promise.all([...pending.values()].map(async (agent) => [agent.node, await agentReadiness(agent.apiSocket)] as const));
    for (const [node, answer] of answers) {
      if (answer.ready) pending.delete(node);
      else last.set(node, answer.detail);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${pending.size} of ${agents.length} agents not ready after ${options.timeoutMs / 1000} s: ${[...pending.keys()].map((node) => `${node} (${last.get(node) ?? 'no answer'})`).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
