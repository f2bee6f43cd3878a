import type { KubeNode } from '@natlens/shared-model';
import { ipKey } from './ip-address';
import { indexNodeAddresses } from './node-addresses';

const node = (name: string, addresses: KubeNode['status']['addresses'], podCIDR?: string): KubeNode => ({
  kind: 'Node',
  metadata: { name },
  spec: podCIDR === undefined ? {} : { podCIDR },
  status: { addresses },
});

describe('indexNodeAddresses', () => {
  it.each<[string, KubeNode[], Record<string, string | undefined>]>([
    ['every type whose value is an address counts', [node('n1', [{ type: 'InternalIP', address: '192.0.2.10' }, { type: 'ExternalIP', address: '2001:db8::10' }, { type: 'Hostname', address: '192.0.2.99' }, { type: 'InternalDNS', address: 'ip-192-0-2-10.internal' }])], {
      '192.0.2.10': 'n1',
      '2001:db8::10': 'n1',
      '192.0.2.99': 'n1',
      'ip-192-0-2-10.internal': undefined,
    }],
    ['nothing is guessed from the pod CIDR', [node('n1', [{ type: 'InternalIP', address: '192.0.2.10' }], '10.20.1.0/24')], { '10.20.1.1': undefined, '10.20.1.0': undefined }],
    ['the first node to list an address keeps it', [node('a', [{ type: 'ExternalIP', address: '192.0.2.50' }]), node('b', [{ type: 'InternalIP', address: '192.0.2.50' }])], { '192.0.2.50': 'a' }],
  ])('%s', (_case, nodes, expected) => {
    const sut = indexNodeAddresses(nodes);
    const actual = Object.fromEntries(Object.keys(expected).map((ip) => [ip, sut.nodeByAddress.get(ipKey(ip) ?? ip)]));
    expect(actual).toEqual(expected);
    expect([...sut.nodePortAddresses].sort()).toEqual([...sut.nodeByAddress.keys()].sort());
  });
});
