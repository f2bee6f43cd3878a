import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderIptablesRules } from '../render-iptables';
import { renderNftablesRules } from '../render-nftables';
import { OVERALL_ENDPOINT_SLICES, OVERALL_SERVICES, TEST_NODE, TEST_SERVICE_CIDR } from './overall-services';

/*
 * Our renderers against kube-proxy itself: kube-proxy's own expected output for its TestOverallIPTablesRules and
 * TestOverallNFTablesRules (the fixtures beside this file name their source), rendered from the same six Services in
 * our inventory model. Line by line, ordering aside (kube-proxy's tests sort the dump too): every line must be there,
 * and nothing else.
 */

const fixture = (file: string) => readFileSync(join(__dirname, file), 'utf8');
const statements = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

/** iptables-restore text as { table: sorted lines }, so a chain declared in both tables is checked in each. */
function byTable(text: string): Record<string, string[]> {
  const tables: Record<string, string[]> = {};
  let current = '';
  for (const line of statements(text)) {
    if (line.startsWith('*')) current = line.slice(1);
    else if (line !== 'COMMIT') (tables[current] ??= []).push(line);
  }
  for (const lines of Object.values(tables)) lines.sort();
  return tables;
}

/** What one side has and the other lacks, for a readable failure. */
function difference(expected: string[], actual: string[]): { missing: string[]; unexpected: string[] } {
  const remaining = [...actual];
  const missing: string[] = [];
  for (const line of expected) {
    const at = remaining.indexOf(line);
    if (at < 0) missing.push(line);
    else remaining.splice(at, 1);
  }
  return { missing, unexpected: remaining };
}

describe("our renderers produce kube-proxy's own expected rules (TestOverall*Rules)", () => {
  it('nftables mode: exactly the lines of TestOverallNFTablesRules', () => {
    const actual = renderNftablesRules({
      ...TEST_NODE,
      nodePortAddresses: [`${TEST_NODE.nodeIP}/32`],
      serviceCidrs: [TEST_SERVICE_CIDR],
      services: OVERALL_SERVICES,
      endpointSlices: OVERALL_ENDPOINT_SLICES,
    });
    const expected = statements(fixture('nftables-overall.nft'));
    expect(difference(expected, statements(actual))).toEqual({ missing: [], unexpected: [] });
  });

  it('iptables mode: exactly the restore input of TestOverallIPTablesRules', () => {
    const { restore } = renderIptablesRules({
      ...TEST_NODE,
      localhostNodePorts: true,
      nfacctCounters: true,
      randomFully: false,
      services: OVERALL_SERVICES,
      endpointSlices: OVERALL_ENDPOINT_SLICES,
    });
    const expected = byTable(fixture('iptables-overall.iptables'));
    const actual = byTable(restore);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const table of Object.keys(expected)) {
      expect({ table, ...difference(expected[table] ?? [], actual[table] ?? []) }).toEqual({ table, missing: [], unexpected: [] });
    }
  });
});
