import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterIndex } from '../cluster-index';
import { parseInventory } from '../inventory-parse';

const FIXTURES = join(__dirname, '..', 'fixtures');

/**
 * The inventory the lab writes for examples/seeds.yaml (libs/lab buildInventory, regenerated with the command in
 * src/fixtures/README.md): nodes 198.18.0.11-13, pod CIDRs 198.19.N.0/24, default/web (LoadBalancer,
 * Local, ClusterIP 198.18.255.10, NodePort 30080, LB 203.0.113.10) and default/api (NodePort, Cluster,
 * 198.18.255.11, 30090).
 */
export const LAB_SEEDS_INVENTORY = join(FIXTURES, 'lab-seeds-inventory.json');

/** A hand-written dual-stack (IPv4 + IPv6) inventory shaped like `kubectl get … -o json` on a kind cluster. */
export const DUAL_STACK_INVENTORY = join(FIXTURES, 'dual-stack-inventory.json');

/**
 * A cloud cluster's inventory sharing no address, name or shape with the lab (src/fixtures/README.md): nodes
 * 10.20.1.11-13, pod CIDRs 10.88.N.0/24, a hostname-only LoadBalancer, workloads of every kind with ownerReferences.
 */
export const CLOUD_CLUSTER_INVENTORY = join(FIXTURES, 'cloud-cluster-inventory.json');

/** The index of an inventory fixture file. */
export function indexFromInventoryFile(path: string): ClusterIndex {
  return ClusterIndex.fromObjects(parseInventory(readFileSync(path, 'utf8'), path).objects);
}
