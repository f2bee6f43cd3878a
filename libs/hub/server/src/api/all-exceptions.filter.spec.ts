import { SqliteReadTimeoutError } from '../storage/sqlite-reader';
import { toApiError } from './all-exceptions.filter';

describe('toApiError', () => {
  it.each([
    ['SQLite reader timeout', new SqliteReadTimeoutError(30_000), /ran longer than 30000 ms.*NATLENS_STORE_STATEMENT_TIMEOUT/],
    ['PostgreSQL statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }), /statement timeout.*NATLENS_STORE_STATEMENT_TIMEOUT/],
  ])('a query the store gave up on (%s) is 503 query-timeout, saying what to do', (_name, error, message) => {
    expect(toApiError(error)).toEqual({ status: 503, code: 'query-timeout', message: expect.stringMatching(message) });
  });

  it('anything else unexpected is 500 internal', () => {
    expect(toApiError(new Error('boom'))).toEqual({ status: 500, code: 'internal', message: expect.stringMatching(/boom/) });
  });
});
