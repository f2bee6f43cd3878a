import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeListSchema } from './kubernetes';

// Shaped like `kubectl get nodes,pods,services,endpointslices -A -o json` from a kind cluster, trimmed; the fields
// the API server adds and natlens ignores (managedFields, conditions, nodeInfo, ipMode...) are left in on purpose.
const kubectlList: unknown = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'kubectl-list.json'), 'utf8'));

describe('kubeListSchema', () => {
  it('reads kubectl list output, ignoring the fields it does not need', () => {
    const list = kubeListSchema.parse(kubectlList);
    expect(list.items.map((o) => o.kind)).toEqual(['Node', 'Pod', 'Service', 'EndpointSlice']);
    const service = list.items[2];
    expect(service?.kind === 'Service' && service.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32122 });
  });

  it.each([
    ['an object of a kind natlens does not read', ['items', 0, 'kind'], 'ConfigMap', /items\.0\.kind/],
    ['a port out of range', ['items', 2, 'spec', 'ports', 0, 'port'], 70000, /items\.2\.spec\.ports\.0\.port/],
    ['an endpoint without addresses', ['items', 3, 'endpoints', 0, 'addresses'], [], /items\.3\.endpoints\.0\.addresses/],
    ['a Service without a name', ['items', 2, 'metadata', 'name'], undefined, /items\.2\.metadata\.name/],
  ])('rejects %s and names the path', (_name, at, value, path) => {
    const list = structuredClone(kubectlList);
    const parent = (at as (string | number)[]).slice(0, -1).reduce((o, k) => (o as Record<string | number, unknown>)[k], list as unknown) as Record<string | number, unknown>;
    const key = (at as (string | number)[]).at(-1) as string | number;
    if (value === undefined) delete parent[key];
    else parent[key] = value;
    const result = kubeListSchema.safeParse(list);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).join(' ')).toMatch(path);
  });
});
