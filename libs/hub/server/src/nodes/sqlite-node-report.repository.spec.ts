import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFlowRepository } from '../storage/open-flow-repository';
import { nodeReportRepositoryContract } from './node-report-repository.contract';
import { openNodeReportRepository } from './open-node-report-repository';

describe('SqliteNodeReportRepository', () => {
  describe('contract (in memory)', () => {
    nodeReportRepositoryContract(() => openNodeReportRepository('sqlite::memory:'));
  });

  it('shares the hub file with the flow store and keeps reports across reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natlens-nodes-'));
    try {
      const url = `sqlite://${join(dir, 'natlens.db')}`;
      const flows = await openFlowRepository(url);
      const first = await openNodeReportRepository(url);
      await first.store({ version: 1, node: 'node1', at: 5, addresses: [], healthChecks: [] }, 6);
      await first.close();
      await flows.close();
      const sut = await openNodeReportRepository(url);
      expect((await sut.nodes()).map((n) => n.node)).toEqual(['node1']);
      await sut.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
