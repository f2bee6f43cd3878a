import { usePostgresDatabases } from '../testing';
import { nodeReportRepositoryContract } from './node-report-repository.contract';
import { openNodeReportRepository } from './open-node-report-repository';

describe('PostgresNodeReportRepository (real PostgreSQL)', () => {
  const freshDatabase = usePostgresDatabases('natlens_nodes');
  nodeReportRepositoryContract(async () => openNodeReportRepository(await freshDatabase()));
});
