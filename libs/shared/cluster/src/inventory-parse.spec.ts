import { readFileSync } from 'node:fs';
import { ClusterIndex } from './cluster-index';
import { InventoryError, parseInventory } from './inventory-parse';
import { LAB_SEEDS_INVENTORY } from './testing/inventory-fixtures';

const labText = readFileSync(LAB_SEEDS_INVENTORY, 'utf8');
const lab = JSON.parse(labText) as { apiVersion: string; kind: string; items: Record<string, unknown>[] };

/** The lab inventory with one change applied to a deep copy. */
function labWith(change: (list: typeof lab) => void): string {
  const copy = structuredClone(lab);
  change(copy);
  return JSON.stringify(copy);
}

/** Sets (or, with `undefined`, deletes) the value at a path of parsed JSON. */
function setAt(root: unknown, path: readonly (string | number)[], value: unknown): void {
  let parent = root as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path.at(-1) ?? '';
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

describe('parseInventory', () => {
  it('reads the lab inventory (a kubectl-style List)', () => {
    const { objects, ignoredKinds } = parseInventory(labText, 'seeds.json');
    expect(objects.map((o) => o.kind)).toEqual(['Node', 'Node', 'Node', 'Pod', 'Pod', 'Pod', 'Pod', 'Pod', 'Service', 'Service', 'EndpointSlice', 'EndpointSlice']);
    expect(ignoredKinds).toEqual({});
  });

  it('reads a typed list whose items carry no kind, as the API server returns it', () => {
    const services = lab.items.filter((i) => i['kind'] === 'Service').map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
    const { objects } = parseInventory(JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', metadata: { resourceVersion: '7' }, items: services }), 'svc.json');
    expect(ClusterIndex.fromObjects(objects).services().map((s) => s.name)).toEqual(['api', 'web']);
  });

  it('skips kinds it does not read (kubectl get all) and says which', () => {
    const text = labWith((list) =>
      list.items.push(
        { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } } } },
      ),
    );
    const { objects, ignoredKinds } = parseInventory(text, 'all.json');
    expect(objects).toHaveLength(13); // the lab's 12, and the Deployment: workloads are read
    expect(objects.at(-1)).toMatchObject({ kind: 'Deployment', spec: { selector: { matchLabels: { app: 'web' } } } });
    expect(ignoredKinds).toEqual({ Job: 1, ConfigMap: 1 });
  });

  it.each<[string, string, string, RegExp]>([
    ['not JSON', '{"kind": "List", items: []}', '(top level)', /not valid JSON .*kubectl get nodes,pods,services,endpointslices,replicasets,deployments,statefulsets,daemonsets -A -o json/],
    ['a JSON array', '[]', '(top level)', /expected a JSON object/],
    ['a single object, not a list', JSON.stringify(lab.items[0]), 'kind', /expected "List" .* got "Node"/],
    ['no items', '{"apiVersion":"v1","kind":"List"}', 'items', /expected an array of objects, got nothing/],
    ['an item that is no object', labWith((l) => l.items.splice(2, 0, 5 as never)), 'items[2]', /expected object, received number/],
    ['an item without kind', labWith((l) => setAt(l, ['items', 4, 'kind'], undefined)), 'items[4].kind (default/web-2)', /^expected 'Node' \| 'Pod' \| 'Service' \| 'EndpointSlice' \| 'ReplicaSet' \| 'Deployment' \| 'StatefulSet' \| 'DaemonSet', got nothing$/],
    [
      'a Service port out of range',
      labWith((l) => setAt(l, ['items', 8, 'spec', 'ports', 0, 'port'], 0)),
      'items[8].spec.ports[0].port (Service default/web)',
      /expected number to be >=1, got 0/,
    ],
    ['a Service type that does not exist', labWith((l) => setAt(l, ['items', 9, 'spec', 'type'], 'Nodeport')), 'items[9].spec.type (Service default/api)', /^expected one of "ClusterIP"\|"NodePort"\|"LoadBalancer"\|"ExternalName", got "Nodeport"$/],
    ['a Node without a name', labWith((l) => setAt(l, ['items', 1, 'metadata', 'name'], '')), 'items[1].metadata.name (Node <no name>)', /expected string to have >=1 characters, got ""/],
    [
      'an endpoint without addresses, after an ignored kind',
      labWith((l) => {
        l.items.unshift({ kind: 'CronJob', metadata: { name: 'web' } });
        setAt(l, ['items', 11, 'endpoints', 0, 'addresses'], []);
      }),
      'items[11].endpoints[0].addresses (EndpointSlice default/web-lab)',
      /expected array to have >=1 items, got \[\]/,
    ],
  ])('rejects %s, naming the file and the first bad field', (_case, text, fieldPath, problem) => {
    let thrown: unknown;
    try {
      parseInventory(text, '/etc/natlens/inventory.json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InventoryError);
    const error = thrown as InventoryError;
    expect(error.fieldPath).toBe(fieldPath);
    expect(error.problem).toMatch(problem);
    expect(error.message).toBe(`inventory /etc/natlens/inventory.json: ${fieldPath}: ${error.problem}`);
  });
});
