import { normalizeNftRuleset } from './testing';

describe('normalizeNftRuleset (golden `nft list ruleset` files)', () => {
  it('puts a set’s wrapped elements on one line, sorted, whatever order the kernel listed them in', () => {
    const a = ['\tmap m {', '\t\telements = { 203.0.113.10 . tcp . 80 : goto b,', '\t\t\t     198.18.255.10 . tcp . 80 : goto a }', '\t}'].join('\n');
    const b = ['\tmap m {', '\t\telements = { 198.18.255.10 . tcp . 80 : goto a,', '\t\t\t     203.0.113.10 . tcp . 80 : goto b }', '\t}'].join('\n');
    expect(normalizeNftRuleset(a)).toBe(normalizeNftRuleset(b));
    expect(normalizeNftRuleset(a)).toBe('\tmap m {\n\t\telements = { 198.18.255.10 . tcp . 80 : goto a, 203.0.113.10 . tcp . 80 : goto b }\n\t}\n');
  });

  it('sorts an inline verdict map and leaves rules and chain blocks alone', () => {
    const text = 'chain c {\n\t\tnumgen random mod 2 vmap { 1 : goto y, 0 : goto x }\n\t\tip daddr 1.2.3.4 drop\n\t}\n';
    expect(normalizeNftRuleset(text)).toBe('chain c {\n\t\tnumgen random mod 2 vmap { 0 : goto x, 1 : goto y }\n\t\tip daddr 1.2.3.4 drop\n\t}\n');
  });
});
