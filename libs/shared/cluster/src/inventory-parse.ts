import { type KubeObject, kubeListSchema } from '@natlens/shared-model';
import { firstProblem } from './schema-issues';

/*
 * The inventory file: what `kubectl get nodes,pods,services,endpointslices,replicasets,deployments,statefulsets,
 * daemonsets -A -o json` prints (a `List`), or one typed list as the API server returns it (`NodeList`, ...), whose
 * items carry no kind of their own. The apps/v1 workloads are optional: without them the remedies say that a pod's
 * owner is not known rather than name one.
 */

const READ_KINDS = new Set(['Node', 'Pod', 'Service', 'EndpointSlice', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet']);
const TYPED_LISTS: Readonly<Record<string, string>> = {
  NodeList: 'Node',
  PodList: 'Pod',
  ServiceList: 'Service',
  EndpointSliceList: 'EndpointSlice',
  ReplicaSetList: 'ReplicaSet',
  DeploymentList: 'Deployment',
  StatefulSetList: 'StatefulSet',
  DaemonSetList: 'DaemonSet',
};
const HOW_TO_MAKE = 'write it with `kubectl get nodes,pods,services,endpointslices,replicasets,deployments,statefulsets,daemonsets -A -o json > FILE`';

/** An inventory that cannot be used, with where and what to fix. */
export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  constructor(
    readonly file: string,
    /** The path of the first bad field, e.g. `items[3].spec.ports[0].port`; `(top level)` for the file itself. */
    readonly fieldPath: string,
    readonly problem: string,
  ) {
    super(`inventory ${file}: ${fieldPath}: ${problem}`);
  }
}

export interface ParsedInventory {
  readonly objects: readonly KubeObject[];
  /** Items of kinds natlens does not read (e.g. from `kubectl get all`), by kind: skipped, not an error. */
  readonly ignoredKinds: Readonly<Record<string, number>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeItem(item: unknown): string {
  if (!isRecord(item) || !isRecord(item['metadata'])) return '';
  const { namespace, name } = item['metadata'];
  const kind = typeof item['kind'] === 'string' ? `${item['kind']} ` : '';
  const shownName = typeof name === 'string' && name !== '' ? name : '<no name>';
  const qualified = typeof namespace === 'string' ? `${namespace}/${shownName}` : shownName;
  return ` (${kind}${qualified})`;
}

/** Parses and validates an inventory; throws `InventoryError` naming the file, the first bad field and the fix. */
export function parseInventory(text: string, file: string): ParsedInventory {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InventoryError(file, '(top level)', `not valid JSON (${(error as Error).message}); ${HOW_TO_MAKE}`);
  }
  if (!isRecord(document)) throw new InventoryError(file, '(top level)', `expected a JSON object (a Kubernetes List); ${HOW_TO_MAKE}`);
  const listKind = document['kind'];
  const itemKind = typeof listKind === 'string' ? TYPED_LISTS[listKind] : undefined;
  if (listKind !== 'List' && itemKind === undefined) {
    throw new InventoryError(file, 'kind', `expected "List" (or a typed list: ${Object.keys(TYPED_LISTS).join(', ')}), got ${JSON.stringify(listKind) ?? 'nothing'}; ${HOW_TO_MAKE}`);
  }
  const items = document['items'];
  if (!Array.isArray(items)) throw new InventoryError(file, 'items', `expected an array of objects, got ${JSON.stringify(items) ?? 'nothing'}`);

  const ignoredKinds: Record<string, number> = {};
  const kept: { item: unknown; position: number }[] = [];
  items.forEach((raw: unknown, position) => {
    // A typed list's items come without kind (the API server leaves it out), so they take it from the list.
    const item = itemKind !== undefined && isRecord(raw) && raw['kind'] === undefined ? { ...raw, kind: itemKind } : raw;
    const kind = isRecord(item) ? item['kind'] : undefined;
    if (typeof kind === 'string' && !READ_KINDS.has(kind)) ignoredKinds[kind] = (ignoredKinds[kind] ?? 0) + 1;
    else kept.push({ item, position });
  });

  const candidate = { apiVersion: 'v1', kind: 'List', items: kept.map(({ item }) => item) };
  const result = kubeListSchema.safeParse(candidate);
  if (!result.success) {
    const { path, problem } = firstProblem(result.error, candidate);
    // Report the item by its position in the file, not in the filtered list we validated.
    const [, keptIndex] = result.error.issues[0]?.path ?? [];
    const entry = typeof keptIndex === 'number' ? kept[keptIndex] : undefined;
    const filePath = entry === undefined ? path : path.replace(/^items\[\d+\]/, `items[${entry.position}]`);
    throw new InventoryError(file, `${filePath}${describeItem(entry?.item)}`, problem);
  }
  return { objects: result.data.items, ignoredKinds };
}
