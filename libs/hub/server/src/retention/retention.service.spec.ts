import pino from 'pino';
import { hubConfigSchema } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { SqliteFlowRepository } from '../storage/sqlite-flow.repository';
import { flowRecord } from '../testing';
import { RetentionService } from './retention.service';

describe('RetentionService', () => {
  it('deletes raw records and rollups past their own retention', async () => {
    const repository = new SqliteFlowRepository(':memory:');
    await repository.migrate();
    const now = 1_700_100_000_000;
    const hour = 3600_000;
    await repository.ingest([
      flowRecord({ firstSeen: now - 3 * hour, lastSeen: now - 3 * hour }), // raw expired, rollup kept
      flowRecord({ firstSeen: now - 30 * hour, lastSeen: now - 30 * hour }), // both expired
      flowRecord({ firstSeen: now - 10_000, lastSeen: now - 10_000 }), // kept
    ]);
    const config = hubConfigSchema.parse({ ingestTokens: ['x'.repeat(16)], rawRetentionMs: 2 * hour, rollupRetentionMs: 24 * hour });
    const sut = new RetentionService(repository, config, new HubMetrics(), () => now, pino({ level: 'silent' }));

    // the 30-hour-old record's minute row, its two client-minute rows and its hour row
    expect(await sut.runOnce()).toEqual({ raw: 2, rollups: 4, services: 0 });
    expect(await repository.countFlows()).toBe(1);
    const counts = await repository.evidenceCounts({ namespace: 'default', name: 'web' }, { from: now - 48 * hour, to: now });
    expect(counts.rows.reduce((sum, row) => sum + row.connections, 0)).toBe(2);
    await repository.close();
  });
});
