import fc from 'fast-check';
import { isStoreUnavailable } from './store-unavailable';

const error = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('a store that is away, or a store refusing the batch', () => {
  it.each([
    // what pg and better-sqlite3 throw, as seen from the hub
    ['PostgreSQL down (Unix socket gone)', error('connect ENOENT /tmp/natlens-pg-x/.s.PGSQL.24512', 'ENOENT'), true],
    ['PostgreSQL down (TCP)', error('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    ['a pooled connection killed by a restart', error('terminating connection due to administrator command', '57P01'), true],
    ['the server starting up', error('the database system is starting up', '57P03'), true],
    ['too many connections', error('sorry, too many clients already', '53300'), true],
    ['PostgreSQL disk full', error('could not extend file: No space left on device', '53100'), true],
    ['SQLite disk full', error('database or disk is full', 'SQLITE_FULL'), true],
    ['a connection exception', error('connection failure', '08006'), true],
    ['a deadlock', error('deadlock detected', '40P01'), true],
    ['a connection lost mid-query', error('Connection terminated unexpectedly'), true],
    ['no pooled connection in time', error('timeout exceeded when trying to connect'), true],
    ['SQLite busy', error('database is locked', 'SQLITE_BUSY'), true],
    ['a trigger refusing the row', error('the store refuses node poison', 'P0001'), false],
    ['a value out of range', error('value "99999999999" is out of range for type integer', '22003'), false],
    ['a bad UTF-8 / NUL in text', error('invalid byte sequence for encoding "UTF8": 0x00', '22021'), false],
    ['a missing file that is not the socket', error("ENOENT: no such file or directory, open '/x'", 'ENOENT'), false],
    ['SQLite disk I/O', error('disk I/O error', 'SQLITE_IOERR'), false],
    ['a plain error', new Error('boom'), false],
    ['a string', 'boom', false],
    ['null', null, false],
  ])('%s → %s', (_name, err, unavailable) => {
    expect(isStoreUnavailable(err)).toBe(unavailable);
  });

  it('never throws, whatever is thrown', () => {
    fc.assert(fc.property(fc.anything(), (thrown) => typeof isStoreUnavailable(thrown) === 'boolean'));
  });
});
