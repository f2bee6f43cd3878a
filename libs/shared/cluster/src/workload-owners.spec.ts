import type { KubeObject } from '@natlens/shared-model';
import { ClusterIndex } from './cluster-index';
import { parseInventory } from './inventory-parse';
import { CLOUD_CLUSTER_INVENTORY, indexFromInventoryFile } from './testing/inventory-fixtures';
import { readFileSync } from 'node:fs';

// fixtures/cloud-cluster-inventory.json: a cluster that shares nothing with the lab, with a workload of each kind.
const cloud = indexFromInventoryFile(CLOUD_CLUSTER_INVENTORY);
const objects = parseInventory(readFileSync(CLOUD_CLUSTER_INVENTORY, 'utf8'), CLOUD_CLUSTER_INVENTORY).objects;
const shop = (name: string) => ({ namespace: 'shop', name });

describe('ClusterIndex.ownerOf: the workload that runs a pod, by ownerReferences', () => {
  it.each([
    ['a Deployment\'s pod, through its ReplicaSet', 'web-frontend-6b7c9d8f5-p4wqs', { known: true, workload: { kind: 'Deployment', namespace: 'shop', name: 'web-frontend', selector: { matchLabels: { 'app.kubernetes.io/name': 'storefront', 'app.kubernetes.io/component': 'web' } } } }],
    ['a StatefulSet\'s pod', 'checkout-1', { known: true, workload: { kind: 'StatefulSet', namespace: 'shop', name: 'checkout', selector: { matchLabels: { app: 'checkout' } } } }],
    ['a DaemonSet\'s pod, its selector with expressions', 'edge-agent-q9f3k', { known: true, workload: { kind: 'DaemonSet', namespace: 'shop', name: 'edge-agent', selector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['edge-agent'] }] } } }],
    ['a bare pod: no owner, and no invented one', 'debug-shell', { known: false, reason: 'pod shop/debug-shell has no owner (no ownerReferences: a bare pod)' }],
    ['a pod the cluster does not list', 'gone-0', { known: false, reason: 'pod shop/gone-0 is not in the cluster metadata' }],
  ])('%s', (_name, pod, expected) => {
    expect(cloud.ownerOf(shop(pod))).toEqual(expected);
  });

  const edited = (change: (objects: KubeObject[]) => KubeObject[]) => ClusterIndex.fromObjects(change(structuredClone([...objects])));
  const byName = (name: string) => (object: KubeObject) => object.metadata.name === name;

  it.each<[string, (objects: KubeObject[]) => KubeObject[], string, object]>([
    ['the ReplicaSet is not listed', (o) => o.filter((x) => !byName('web-frontend-6b7c9d8f5')(x)), 'web-frontend-6b7c9d8f5-2kx9q', { known: false, reason: 'its owner ReplicaSet web-frontend-6b7c9d8f5 is not in the cluster metadata', owner: { kind: 'ReplicaSet', name: 'web-frontend-6b7c9d8f5' } }],
    ['the Deployment is not listed', (o) => o.filter((x) => !(x.kind === 'Deployment')), 'web-frontend-6b7c9d8f5-2kx9q', { known: false, reason: 'the owner of ReplicaSet web-frontend-6b7c9d8f5, Deployment web-frontend is not in the cluster metadata', owner: { kind: 'Deployment', name: 'web-frontend' } }],
    [
      'a namesake with another uid (the owner was deleted and made again) is not the owner',
      (o) => o.map((x) => (x.kind === 'StatefulSet' ? { ...x, metadata: { ...x.metadata, uid: 'another-uid' } } : x)),
      'checkout-0',
      { known: false, reason: 'its owner StatefulSet checkout is not in the cluster metadata', owner: { kind: 'StatefulSet', name: 'checkout' } },
    ],
    [
      'an owner natlens does not read (a Job, an Argo Rollout…): named, not guessed',
      (o) => o.map((x) => (byName('debug-shell')(x) ? { ...x, metadata: { ...x.metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'nightly-report', controller: true }] } } : x)),
      'debug-shell',
      { known: false, reason: 'pod shop/debug-shell is owned by Job nightly-report, which natlens does not read', owner: { kind: 'Job', name: 'nightly-report' } },
    ],
    [
      'a ReplicaSet of no Deployment is the workload itself',
      (o) => o.map((x) => (x.kind === 'ReplicaSet' ? { ...x, metadata: { ...x.metadata, ownerReferences: [] } } : x)),
      'web-frontend-6b7c9d8f5-h7mzn',
      { known: true, workload: { kind: 'ReplicaSet', name: 'web-frontend-6b7c9d8f5' } },
    ],
  ])('unknown or partial chains: %s', (_name, change, pod, expected) => {
    expect(edited(change).ownerOf(shop(pod))).toMatchObject(expected);
  });

  it('lists the nodes\' pod CIDRs from spec.podCIDR(s), in node order', () => {
    expect(cloud.podCIDRs()).toEqual(['10.88.0.0/24', '10.88.1.0/24', '10.88.2.0/24']);
  });
});
