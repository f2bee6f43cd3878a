import { Client } from 'pg';
import { startTestPostgres, type TestPostgres } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { openFlowRepository } from './open-flow-repository';

describe('PostgresFlowRepository (real PostgreSQL)', () => {
  let server: TestPostgres | undefined;
  let databases = 0;

  beforeAll(() => {
    server = startTestPostgres();
  });
  afterAll(() => {
    server?.stop();
  });

  /** A fresh database per test, on the one server of this file. */
  async function freshDatabase(): Promise<string> {
    if (!server) throw new Error('PostgreSQL did not start');
    const name = `natlens_${++databases}`;
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return server.url.replace('/postgres?', `/${name}?`);
  }

  flowRepositoryContract(async () => openFlowRepository(await freshDatabase()));
});
