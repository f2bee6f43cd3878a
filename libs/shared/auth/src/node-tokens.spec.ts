import fc from 'fast-check';
import { DERIVED_TOKEN_PREFIX, deriveNodeToken, derivedTokenClaim, isNodeName, parseNodeTokens } from './node-tokens';

const SECRET = 'a-shared-node-token-secret-of-32+chars!!';

describe('derived node tokens', () => {
  it('are stable, name their node, and differ per node and per secret', () => {
    const a = deriveNodeToken(SECRET, 'node1');
    expect(a).toBe(deriveNodeToken(SECRET, 'node1'));
    expect(a).toMatch(new RegExp(`^${DERIVED_TOKEN_PREFIX}:node1:[A-Za-z0-9_-]{43}$`));
    expect(deriveNodeToken(SECRET, 'node2')).not.toBe(a);
    expect(deriveNodeToken(`${SECRET}x`, 'node1')).not.toBe(a);
    expect(derivedTokenClaim(a)).toEqual({ node: 'node1' });
  });

  it('refuses to derive a token for something that is not a node name', () => {
    expect(() => deriveNodeToken(SECRET, 'Node_1')).toThrow(/not a Kubernetes node name/);
    expect(() => deriveNodeToken(SECRET, 'a:b')).toThrow(/not a Kubernetes node name/);
  });

  it.each([
    ['node1', true],
    ['ip-10-0-0-7.ec2.internal', true],
    ['a', true],
    ['-a', false],
    ['a-', false],
    ['A', false],
    ['a_b', false],
    ['a:b', false],
    ['', false],
    ['a'.repeat(253), true],
    ['a'.repeat(254), false],
  ])('isNodeName(%j) = %s', (name, ok) => {
    expect(isNodeName(name)).toBe(ok);
  });

  it('reads a claim out of any string without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const claim = derivedTokenClaim(text);
        if (claim) expect(isNodeName(claim.node)).toBe(true);
      }),
    );
  });
});

describe('parseNodeTokens', () => {
  it('reads node=token lines and comma-separated pairs', () => {
    expect(parseNodeTokens('# per node\nnode1=token-of-node-one-00000\n\nnode2 = token-of-node-two-00000\n', 'file')).toEqual({
      tokens: [
        { node: 'node1', token: 'token-of-node-one-00000' },
        { node: 'node2', token: 'token-of-node-two-00000' },
      ],
      problems: [],
    });
    expect(parseNodeTokens('node1=token-of-node-one-00000,node2=token-of-node-two-00000', 'env').tokens).toHaveLength(2);
  });

  it.each([
    ['no =', 'node1', /entry 1: expected <node name>=<token>/],
    ['a bad node name', 'Node_1=token-of-node-one-00000', /entry 1: expected <node name>=<token>/],
    ['an empty token', 'node1=', /entry 1: expected/],
    ['a short token', 'node1=short', /entry 1 \(node1\): a token must be at least 16 characters/],
    ['a node twice', 'node1=token-of-node-one-00000\nnode1=token-of-node-one-11111', /node node1 is listed twice/],
  ])('lists %s as a problem', (_name, text, problem) => {
    expect(parseNodeTokens(text, 'file').problems).toEqual([expect.stringMatching(problem)]);
  });

  it('never throws on malformed text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (text) => {
        const { tokens } = parseNodeTokens(text, 'file');
        for (const t of tokens) expect(isNodeName(t.node)).toBe(true);
      }),
    );
  });
});
