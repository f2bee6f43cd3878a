import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFlowRepository } from '../storage/open-flow-repository';
import { alertKey } from './alert-repository';
import { alertRepositoryContract } from './alert-repository.contract';
import { openAlertRepository } from './open-alert-repository';
import { SqliteAlertRepository } from './sqlite-alert.repository';

describe('SqliteAlertRepository', () => {
  describe('contract (in memory)', () => {
    alertRepositoryContract(async () => {
      const sut = new SqliteAlertRepository(':memory:');
      await sut.migrate();
      return sut;
    });
  });

  it('shares the hub file with the flow store and keeps alerts across reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natlens-alerts-'));
    try {
      const url = `sqlite://${join(dir, 'natlens.db')}`;
      const flows = await openFlowRepository(url);
      const first = await openAlertRepository(url);
      const state = { rule: 'UnexpectedSNAT' as const, service: { namespace: 'default', name: 'web' }, state: 'firing' as const, severity: 'critical' as const, value: 1, threshold: 0, summary: 's', activeSince: 1, firedAt: 1, updatedAt: 1 };
      await first.apply([{ key: alertKey('UnexpectedSNAT', state.service), state, transition: 'firing', previousUpdatedAt: null }], ['generic:http://x'], 1);
      await first.close();
      await flows.close();
      const sut = await openAlertRepository(url);
      expect(await sut.states()).toEqual([state]);
      expect(await sut.countNotifications()).toBe(1);
      await sut.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
