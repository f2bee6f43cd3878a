import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceEvidence } from '@natlens/shared-analysis';
import { type AgentProcess, readState, startLabAgent, stopAgent, useLab } from '@natlens/lab/testing';
import { startTestHub, TEST_INGEST_TOKEN, type TestHub } from '@natlens/hub-server/testing';

/*
 * The hub's lab suites (lab-evidence.spec.ts, lab-capture.spec.ts): a lab, a hub on SQLite behind a Unix socket with
 * the lab's inventory, and one `natlens agent` per lab node exporting to it with an ingest token from a file.
 */
export interface LabHub {
  readonly lab: ReturnType<typeof useLab>;
  readonly agents: AgentProcess[];
  /** Set once the enclosing describe block's beforeAll has run. */
  hub(): TestHub;
}

/**
 * Registers the lab, the hub and the agents (`agentArgs` added to each) for the enclosing describe block; the agents
 * are ready (every source observes) when the block's tests start.
 */
export function useLabHub(example: string, agentArgs: string[] = []): LabHub {
  const lab = useLab(example);
  const workDir = mkdtempSync(join(tmpdir(), 'natlens-hub-e2e-'));
  const agents: AgentProcess[] = [];
  let hub: TestHub | undefined;

  beforeAll(async () => {
    hub = await startTestHub({ store: `sqlite://${join(workDir, 'natlens.db')}`, socket: join(workDir, 'hub.sock'), inventory: lab.summary.inventory });
    const tokenFile = join(workDir, 'token');
    writeFileSync(tokenFile, TEST_INGEST_TOKEN);
    const state = readState(lab.name);
    const started = await Promise.all(
      state.lab.nodes.map((n) =>
        startLabAgent({
          netns: state.netns.nodes[n.name] as string,
          node: n.name,
          inventory: lab.summary.inventory,
          hub: `unix:${join(workDir, 'hub.sock')}`,
          workDir,
          extraArgs: ['--hub-token-file', tokenFile, ...agentArgs],
        }),
      ),
    );
    agents.push(...started);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map(stopAgent));
    await hub?.hub.close();
    rmSync(workDir, { recursive: true, force: true });
  }, 30_000);

  return {
    lab,
    agents,
    hub: () => {
      if (!hub) throw new Error('the hub is not started yet (use it inside a test)');
      return hub;
    },
  };
}

/**
 * A Service's evidence from `since` once it counts `total` connections (or after 20 s), then again a moment later:
 * a late duplicate would show in that second reading.
 */
export async function settledEvidence(hub: TestHub, service: string, since: number, total: number): Promise<ServiceEvidence> {
  const evidence = async () => {
    const res = await hub.request('GET', `/api/services/${service}/evidence?from=${since}&to=${Date.now() + 60_000}`);
    expect(res.status).toBe(200);
    return res.body as ServiceEvidence;
  };
  const deadline = Date.now() + 20_000;
  let e = await evidence();
  while (e.connections < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    e = await evidence();
  }
  await new Promise((r) => setTimeout(r, 700));
  return evidence();
}
