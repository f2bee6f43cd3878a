import pino from 'pino';
import type { ClusterIndex, ClusterIndexListener, ClusterMetadataSource } from '@natlens/shared-cluster';
import { DUAL_STACK_INVENTORY, indexFromInventoryFile, waitFor } from '@natlens/shared-cluster/testing';
import type { InterfaceAddressInfo } from './interface-addresses';
import { NodeViewSource } from './node-view.source';

/** A metadata source whose index the test replaces, as an inventory reload or an informer would. */
class SwappableSource implements ClusterMetadataSource {
  private listeners = new Set<ClusterIndexListener>();
  constructor(public index: ClusterIndex) {}
  async start(): Promise<void> {
    // nothing to read: the test hands the index in
  }
  current(): ClusterIndex {
    return this.index;
  }
  onChange(listener: ClusterIndexListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  status() {
    return { ready: true, invalidObjects: 0 };
  }
  async stop(): Promise<void> {
    // nothing to release
  }
  swap(index: ClusterIndex): void {
    this.index = index;
    for (const listener of this.listeners) listener(index);
  }
}

describe('NodeViewSource', () => {
  const inner = new SwappableSource(indexFromInventoryFile(DUAL_STACK_INVENTORY));
  let interfaces: InterfaceAddressInfo[] = [{ address: '127.0.0.1', interface: 'lo', internal: true }, { address: '172.18.0.3', interface: 'eth0', internal: false }];
  const sut = new NodeViewSource(inner, () => interfaces, { node: 'ds-worker', nodePortAddresses: [], refreshIntervalMs: 30 }, pino({ level: 'silent' }));
  const seen: ClusterIndex[] = [];

  beforeAll(async () => {
    await sut.start();
    sut.onChange((index) => seen.push(index));
  });
  afterAll(() => sut.stop());

  it('adds the node\'s interface addresses to the cluster\'s index, and keeps one view while nothing changes', () => {
    expect(sut.current().node('127.0.0.1')).toBe('ds-worker');
    expect(sut.current().serviceFrontend('127.0.0.1', 31000, 'tcp')).toMatchObject({ name: 'echo', entry: 'nodePort' });
    expect(sut.current()).toBe(sut.current());
    expect(sut.addresses()).toEqual(interfaces);
  });

  it('tells listeners when the interfaces change (a bridge appears with the node\'s first pod)', async () => {
    expect(sut.current().node('10.244.1.1')).toBeUndefined();
    interfaces = [...interfaces, { address: '10.244.1.1', interface: 'cni0', internal: false }];
    await waitFor(() => seen.some((index) => index.node('10.244.1.1') === 'ds-worker'), 'the new bridge address in a new view');
    expect(sut.current().classifyClient('10.244.1.1')).toEqual({ kind: 'node', node: 'ds-worker' });
  });

  it('rebuilds the view when the cluster changes, keeping the node\'s addresses', () => {
    inner.swap(indexFromInventoryFile(DUAL_STACK_INVENTORY));
    const latest = seen[seen.length - 1];
    expect(latest).toBe(sut.current());
    expect(latest?.node('10.244.1.1')).toBe('ds-worker');
  });
});
