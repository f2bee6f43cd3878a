import { agentReadiness } from './readiness';

const loaded = { ready: true, invalidObjects: 0 };

describe('agentReadiness', () => {
  it.each<[string, boolean, { name: string; observing: boolean }[], { ready: boolean; lastError?: string; invalidObjects: number }, string[]]>([
    ['every source observes and metadata is loaded', true, [{ name: 'ebpf', observing: true }, { name: 'pcap', observing: true }], loaded, []],
    ['before the sources start', false, [{ name: 'ebpf', observing: false }], loaded, ['the pipeline to start its sources', 'the ebpf source to observe']],
    ['a capture not yet listening', true, [{ name: 'conntrack', observing: true }, { name: 'pcap', observing: false }], loaded, ['the pcap source to observe']],
    ['cluster metadata still loading, with its last error', true, [{ name: 'conntrack', observing: true }], { ready: false, lastError: 'connection refused', invalidObjects: 0 }, ['cluster metadata (connection refused)']],
  ])('%s', (_case, started, sources, cluster, waitingFor) => {
    expect(agentReadiness(started, sources, cluster)).toEqual({ ready: waitingFor.length === 0, waitingFor });
  });
});
