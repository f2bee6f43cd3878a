import { usePostgresDatabases } from '../testing';
import { alertRepositoryContract } from './alert-repository.contract';
import { openAlertRepository } from './open-alert-repository';

describe('PostgresAlertRepository (real PostgreSQL)', () => {
  const freshDatabase = usePostgresDatabases('natlens_alerts');
  alertRepositoryContract(async () => openAlertRepository(await freshDatabase()));
});
