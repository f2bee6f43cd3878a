import { Client } from 'pg';
import { startTestPostgres, type TestPostgres } from '../testing';
import { alertRepositoryContract } from './alert-repository.contract';
import { openAlertRepository } from './open-alert-repository';

describe('PostgresAlertRepository (real PostgreSQL)', () => {
  let server: TestPostgres | undefined;
  let databases = 0;

  beforeAll(() => {
    server = startTestPostgres();
  });
  afterAll(() => {
    server?.stop();
  });

  async function freshDatabase(): Promise<string> {
    if (!server) throw new Error('PostgreSQL did not start');
    const name = `natlens_alerts_${++databases}`;
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return server.url.replace('/postgres?', `/${name}?`);
  }

  alertRepositoryContract(async () => openAlertRepository(await freshDatabase()));
});
