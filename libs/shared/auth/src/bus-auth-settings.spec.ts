import { busAuthFromEnv } from './bus-auth-settings';

describe('busAuthFromEnv', () => {
  const SEED = `SU${'A'.repeat(56)}`;
  const files: Record<string, string> = { '/s/pass': 'secret-pass\n', '/s/seed': `${SEED}\n`, '/s/creds': '-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n', '/s/junk': 'hello' };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error('ENOENT');
    return text;
  };

  it.each<[string, Record<string, string>, object]>([
    ['nothing', {}, {}],
    ['user + password file', { NATLENS_BUS_USER: 'u', NATLENS_BUS_PASSWORD_FILE: '/s/pass' }, { user: 'u', password: 'secret-pass' }],
    ['user + password', { NATLENS_BUS_USER: 'u', NATLENS_BUS_PASSWORD: 'p' }, { user: 'u', password: 'p' }],
    ['an nkey seed', { NATLENS_BUS_NKEY_SEED_FILE: '/s/seed' }, { nkeySeed: `${SEED}\n` }],
    ['a creds file', { NATLENS_BUS_CREDS_FILE: '/s/creds' }, { creds: files['/s/creds'] as string }],
  ])('reads %s', (_name, env, auth) => {
    expect(busAuthFromEnv(env, readFile)).toEqual({ auth, problems: [] });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['two ways', { NATLENS_BUS_USER: 'u', NATLENS_BUS_NKEY_SEED_FILE: '/s/seed' }, /both set/],
    ['a password without a user', { NATLENS_BUS_PASSWORD: 'p' }, /without NATLENS_BUS_USER/],
    ['a seed that is none', { NATLENS_BUS_NKEY_SEED_FILE: '/s/junk' }, /not a user nkey seed/],
    ['creds that are none', { NATLENS_BUS_CREDS_FILE: '/s/junk' }, /not a NATS \.creds file/],
    ['a missing file', { NATLENS_BUS_PASSWORD_FILE: '/nope', NATLENS_BUS_USER: 'u' }, /NATLENS_BUS_PASSWORD_FILE=\/nope: ENOENT/],
    ['a TLS CA that is no certificate', { NATLENS_BUS_TLS_CA_FILE: '/s/junk' }, /NATS TLS CA file \/s\/junk holds no PEM CA/],
  ])('refuses %s', (_name, env, problem) => {
    expect(busAuthFromEnv(env, readFile).problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});
