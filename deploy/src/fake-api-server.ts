import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local HTTP server standing in for the Kubernetes API server where helm needs one: discovery (/version, /api,
 * /apis and each group's resource list, so helm can map the chart's kinds) and GET of the Secrets it holds, which is
 * what the chart's `lookup` reads during an install or upgrade. Everything else is a 404 Status, as the API server
 * answers for an object that does not exist.
 */
export interface FakeApiServer {
  readonly url: string;
  /** Paths requested, in order (without query strings). */
  readonly requests: string[];
  close(): Promise<void>;
}

const resource = (name: string, kind: string, namespaced: boolean) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
const CORE = [resource('configmaps', 'ConfigMap', true), resource('secrets', 'Secret', true), resource('services', 'Service', true), resource('serviceaccounts', 'ServiceAccount', true)];
const GROUPS: Record<string, ReturnType<typeof resource>[]> = {
  'apps/v1': [resource('daemonsets', 'DaemonSet', true), resource('deployments', 'Deployment', true), resource('statefulsets', 'StatefulSet', true)],
  'rbac.authorization.k8s.io/v1': [resource('clusterroles', 'ClusterRole', false), resource('clusterrolebindings', 'ClusterRoleBinding', false)],
  'networking.k8s.io/v1': [resource('networkpolicies', 'NetworkPolicy', true)],
};

/** `secrets`: namespace → name → data (plain text; served base64-encoded as the API server does). */
export async function startFakeApiServer(secrets: Record<string, Record<string, Record<string, string>>>): Promise<FakeApiServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    requests.push(path);
    const send = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
    const data = secret ? secrets[secret[1] as string]?.[secret[2] as string] : undefined;
    if (secret && data) {
      return send(200, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secret[2], namespace: secret[1] },
        type: 'Opaque',
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      });
    }
    if (path === '/version') return send(200, { major: '1', minor: '35', gitVersion: 'v1.35.0' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/api/v1') return send(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE });
    if (path === '/apis') {
      const groups = Object.keys(GROUPS).map((groupVersion) => ({ name: groupVersion.split('/')[0], versions: [{ groupVersion, version: 'v1' }], preferredVersion: { groupVersion, version: 'v1' } }));
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const group = GROUPS[path.replace(/^\/apis\//, '')];
    if (group) return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: path.replace(/^\/apis\//, ''), resources: group });
    return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
