import fc from 'fast-check';
import { deriveNodeToken } from './node-tokens';
import { bearerToken, type Principal, TokenVerifier } from './token-verifier';

const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef00';
const NODE1 = 'node1-explicit-token-0123456789';
const SECRET = 'a-shared-node-token-secret-of-32+chars!!';

describe('TokenVerifier', () => {
  const sut = new TokenVerifier({ ingest: [INGEST], read: [READ], nodeTokens: [{ node: 'node1', token: NODE1 }], nodeTokenSecret: SECRET });

  it.each<[string, string | undefined, Principal | undefined, { read: boolean; ingest: boolean }]>([
    ['an ingest token', INGEST, { kind: 'ingest', label: 'ingest-token' }, { read: true, ingest: true }],
    ['a read token', READ, { kind: 'read', label: 'read-token' }, { read: true, ingest: false }],
    ['an explicit node token', NODE1, { kind: 'node', node: 'node1', label: 'node-token:node1' }, { read: false, ingest: true }],
    ['a derived node token', deriveNodeToken(SECRET, 'ip-10-0-0-7.ec2.internal'), { kind: 'node', node: 'ip-10-0-0-7.ec2.internal', label: 'node-token:ip-10-0-0-7.ec2.internal' }, { read: false, ingest: true }],
    ['a token derived from another secret', deriveNodeToken('another-secret-of-more-than-32-chars!!', 'node1'), undefined, { read: false, ingest: false }],
    ['a derived token whose node was changed', deriveNodeToken(SECRET, 'node1').replace(':node1:', ':node2:'), undefined, { read: false, ingest: false }],
    ['an unknown token', 'not-a-token-of-ours-000000', undefined, { read: false, ingest: false }],
    ['an empty token', '', undefined, { read: false, ingest: false }],
    ['no token', undefined, undefined, { read: false, ingest: false }],
  ])('%s', (_name, token, principal, scopes) => {
    expect(sut.identify(token)).toEqual(principal);
    expect(sut.allows(token, 'read')).toBe(scopes.read);
    expect(sut.allows(token, 'ingest')).toBe(scopes.ingest);
  });

  it('says whether it binds nodes', () => {
    expect(sut.bindsNodes).toBe(true);
    expect(new TokenVerifier({ ingest: [INGEST] }).bindsNodes).toBe(false);
    expect(new TokenVerifier({ nodeTokenSecret: SECRET }).bindsNodes).toBe(true);
  });

  it('never throws and never accepts arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (token) => {
        const principal = sut.identify(token);
        expect(principal === undefined || [INGEST, READ, NODE1].includes(token)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer   abc  ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
