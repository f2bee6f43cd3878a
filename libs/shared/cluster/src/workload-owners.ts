import type { KubeLabelSelector, KubeOwnerReference, KubePod, KubeWorkload } from '@natlens/shared-model';
import { objectKey, type ServiceRef } from './cluster-types';

/*
 * Which workload runs a pod, by the owner chain the controllers write: a Deployment's pods are owned by a ReplicaSet
 * owned by the Deployment; StatefulSet and DaemonSet pods by the StatefulSet or DaemonSet. That workload and its own
 * selector are what a remedy edits; natlens never guesses one from a name or a label.
 */

export type WorkloadKind = KubeWorkload['kind'];

export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** spec.selector, as the cluster holds it. */
  readonly selector?: KubeLabelSelector;
}

/** A pod's workload, or why it is not known. */
export type PodOwner =
  | { readonly known: true; readonly workload: WorkloadRef }
  | {
      readonly known: false;
      readonly reason: string;
      /** The owner reference that could not be followed, when there is one (named in the pod itself). */
      readonly owner?: { readonly kind: string; readonly name: string };
    };

export interface WorkloadCatalog {
  ownerOf(pod: ServiceRef): PodOwner;
}

const keyOf = (kind: string, namespace: string, name: string) => `${kind}|${namespace}|${name}`;

/** The controller reference (controller: true), else the only reference: what the garbage collector follows. */
function controllerOf(references: readonly KubeOwnerReference[] | undefined): KubeOwnerReference | undefined {
  if (!references || references.length === 0) return undefined;
  return references.find((reference) => reference.controller === true) ?? (references.length === 1 ? references[0] : undefined);
}

export function indexWorkloads(workloads: readonly KubeWorkload[], pods: readonly KubePod[]): WorkloadCatalog {
  const byKey = new Map<string, KubeWorkload>();
  for (const workload of workloads) byKey.set(keyOf(workload.kind, workload.metadata.namespace ?? 'default', workload.metadata.name), workload);
  const podsByKey = new Map<string, KubePod>();
  for (const pod of pods) podsByKey.set(objectKey({ namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name }), pod);

  /** The referenced workload, if listed and the same object (a uid on both sides that differs is a deleted namesake). */
  const resolve = (namespace: string, reference: KubeOwnerReference): KubeWorkload | undefined => {
    const found = byKey.get(keyOf(reference.kind, namespace, reference.name));
    if (!found) return undefined;
    if (reference.uid !== undefined && found.metadata.uid !== undefined && reference.uid !== found.metadata.uid) return undefined;
    return found;
  };
  const refOf = (workload: KubeWorkload, namespace: string): WorkloadRef => ({
    kind: workload.kind,
    namespace,
    name: workload.metadata.name,
    ...(workload.spec.selector ? { selector: workload.spec.selector } : {}),
  });
  const notListed = (reference: KubeOwnerReference, what: string): PodOwner => ({
    known: false,
    reason: `${what} ${reference.kind} ${reference.name} is not in the cluster metadata`,
    owner: { kind: reference.kind, name: reference.name },
  });
  const FOLLOWED = new Set(['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet']);

  return {
    ownerOf(ref: ServiceRef): PodOwner {
      const pod = podsByKey.get(objectKey(ref));
      if (!pod) return { known: false, reason: `pod ${objectKey(ref)} is not in the cluster metadata` };
      const namespace = ref.namespace;
      const reference = controllerOf(pod.metadata.ownerReferences);
      if (!reference) return { known: false, reason: `pod ${objectKey(ref)} has no owner (no ownerReferences: a bare pod)` };
      if (!FOLLOWED.has(reference.kind)) {
        return { known: false, reason: `pod ${objectKey(ref)} is owned by ${reference.kind} ${reference.name}, which natlens does not read`, owner: { kind: reference.kind, name: reference.name } };
      }
      const owner = resolve(namespace, reference);
      if (!owner) return notListed(reference, `its owner`);
      if (owner.kind !== 'ReplicaSet') return { known: true, workload: refOf(owner, namespace) };
      // A ReplicaSet of a Deployment is the Deployment's business (the next rollout replaces it); a bare one is its own.
      const up = controllerOf(owner.metadata.ownerReferences);
      if (!up) return { known: true, workload: refOf(owner, namespace) };
      if (up.kind !== 'Deployment') {
        return { known: false, reason: `ReplicaSet ${owner.metadata.name} is owned by ${up.kind} ${up.name}, which natlens does not read`, owner: { kind: up.kind, name: up.name } };
      }
      const deployment = resolve(namespace, up);
      return deployment ? { known: true, workload: refOf(deployment, namespace) } : notListed(up, `the owner of ReplicaSet ${owner.metadata.name},`);
    },
  };
}
