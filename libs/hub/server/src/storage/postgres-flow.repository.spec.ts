import { usePostgresDatabases } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { openFlowRepository } from './open-flow-repository';

describe('PostgresFlowRepository (real PostgreSQL)', () => {
  const freshDatabase = usePostgresDatabases('natlens');
  flowRepositoryContract(async () => openFlowRepository(await freshDatabase()));
});
