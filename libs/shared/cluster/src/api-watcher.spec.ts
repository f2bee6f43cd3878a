import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { KubeApiWatcher, type KubeApiWatcherOptions } from './api-watcher';
import type { ClusterIndex } from './cluster-index';
import type { KubeResourceName } from './kube-resources';
import { type KubeApiObject, KubeApiReplayServer } from './testing/kube-api-replay-server';
import { waitFor } from './testing/wait-for';

// The real @kubernetes/client-node informers against a real HTTP server replaying the API server's list and watch
// responses for the seeds lab (src/fixtures/api-server). Nothing of the client or of node:http is mocked.

/** A pod of the lab's shape on node3, at a new address. */
function extraPod(name: string, podIP: string): KubeApiObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'extra' } },
    spec: { nodeName: 'node3', containers: [{ name: 'echo', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52' }] },
    status: { phase: 'Running', hostIP: '198.18.0.13', podIP, podIPs: [{ ip: podIP }] },
  };
}

describe('KubeApiWatcher', () => {
  let server: KubeApiReplayServer;
  let sut: KubeApiWatcher | undefined;
  let logs: { level: number; msg: string; [field: string]: unknown }[];

  beforeEach(async () => {
    server = await KubeApiReplayServer.start();
    logs = [];
  });

  afterEach(async () => {
    await sut?.stop();
    sut = undefined;
    await server.stop();
  });

  async function startWatcher(options: Partial<KubeApiWatcherOptions> = {}): Promise<KubeApiWatcher> {
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    sut = new KubeApiWatcher({
      kubeConfig: { kind: 'options', options: server.kubeConfigOptions() },
      logger,
      debounceMs: 10,
      backoff: { initialMs: 20, maxMs: 200 },
      syncTimeoutMs: 10_000,
      ...options,
    });
    await sut.start();
    return sut;
  }

  function index(): ClusterIndex {
    if (sut === undefined) throw new Error('the watcher is not started');
    return sut.current();
  }

  function requests(resource: KubeResourceName, watch: boolean): (string | undefined)[] {
    return server.requests.filter((r) => r.resource === resource && r.watch === watch).map((r) => r.resourceVersion);
  }

  function resource(name: KubeResourceName): ReturnType<KubeApiWatcher['resourceStatus']>[number] | undefined {
    return sut?.resourceStatus().find((status) => status.resource === name);
  }

  it('builds the index from the first list of every collection, then watches from the list resourceVersion', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(server.kubeConfigOptions());
    await startWatcher({ kubeConfig });
    expect(index().serviceFrontend('203.0.113.10', 80, 'tcp')).toMatchObject({ name: 'web', entry: 'loadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32122 });
    expect(index().serviceFrontend('198.18.0.13', 30090, 'tcp')).toMatchObject({ name: 'api', entry: 'nodePort' });
    expect(index().endpoint('198.19.2.11', 8080, 'tcp')).toMatchObject({ service: { name: 'web' }, pod: { name: 'web-3' }, node: 'node2' });
    expect(index().classifyClient('198.18.0.11')).toEqual({ kind: 'node', node: 'node1' });
    expect(index().classifyClient('198.19.1.1')).toEqual({ kind: 'pod', node: 'node1' });
    expect(Object.fromEntries(index().readyEndpointsByNode({ namespace: 'default', name: 'web' }))).toEqual({ node1: 2, node2: 1 });
    expect(sut?.status()).toMatchObject({ ready: true, invalidObjects: 0 });
    const listVersion = server.currentResourceVersion();
    for (const name of ['nodes', 'pods', 'services', 'endpointslices'] as const) {
      expect(requests(name, false)).toEqual([undefined]);
      await waitFor(() => requests(name, true).length === 1, `the ${name} watch`);
      expect(requests(name, true)).toEqual([listVersion]);
    }
  });

  it.each<[string, () => void, () => boolean]>([
    [
      'ADDED pod',
      () => server.change('pods', 'ADDED', extraPod('extra-1', '198.19.3.21')),
      () => index().pod('198.19.3.21')?.name === 'extra-1',
    ],
    [
      'MODIFIED Service (policy Local → Cluster)',
      () => {
        const web = server.get('services', 'default', 'web');
        (web['spec'] as Record<string, unknown>)['externalTrafficPolicy'] = 'Cluster';
        server.change('services', 'MODIFIED', web);
      },
      () => index().serviceFrontend('198.18.255.10', 80, 'tcp')?.externalTrafficPolicy === 'Cluster',
    ],
    [
      'MODIFIED EndpointSlice (web-3 becomes not ready)',
      () => {
        const slice = server.get('endpointslices', 'default', 'web-2567a');
        const endpoints = slice['endpoints'] as { conditions: { ready: boolean } }[];
        (endpoints[2] as { conditions: { ready: boolean } }).conditions.ready = false;
        server.change('endpointslices', 'MODIFIED', slice);
      },
      () => index().localEndpoints({ namespace: 'default', name: 'web' }, 'node2') === 0,
    ],
    [
      'DELETED pod',
      () => server.change('pods', 'DELETED', server.get('pods', 'default', 'api-2')),
      () => index().pod('198.19.3.11') === undefined,
    ],
    [
      'DELETED Node',
      () => server.change('nodes', 'DELETED', server.get('nodes', undefined, 'node3')),
      () => index().node('198.18.0.13') === undefined && index().serviceFrontend('198.18.0.13', 30090, 'tcp') === undefined,
    ],
  ])('applies a watch event: %s', async (_case, change, applied) => {
    await startWatcher();
    const seen: ClusterIndex[] = [];
    sut?.onChange((next) => seen.push(next));
    expect(applied()).toBe(false);
    await waitFor(() => server.openWatches() === 4, 'four open watches');
    change();
    await waitFor(applied, 'the change in the index');
    expect(seen.at(-1)).toBe(index());
  });

  it.each<['end' | 'destroy', string]>([
    ['end', 'the server closes the stream (watch timeout)'],
    ['destroy', 'the connection drops mid-stream'],
  ])('resumes from the last resourceVersion when %s (%s), losing no event', async (how) => {
    await startWatcher();
    await waitFor(() => server.openWatches('pods') === 1, 'the pods watch');
    const lastSeen = server.change('pods', 'ADDED', extraPod('extra-1', '198.19.3.21'));
    await waitFor(() => index().pod('198.19.3.21'), 'extra-1');

    // Break the stream and change the cluster in the same tick: the client cannot have reconnected in between,
    // so extra-2 can only arrive by a watch that resumes from `lastSeen` and gets the history replayed.
    expect(server.breakWatches(how, 'pods')).toBe(1);
    server.change('pods', 'ADDED', extraPod('extra-2', '198.19.3.22'));
    await waitFor(() => index().pod('198.19.3.22'), 'extra-2, sent while disconnected');
    server.change('pods', 'ADDED', extraPod('extra-3', '198.19.3.23'));
    await waitFor(() => index().pod('198.19.3.23'), 'extra-3, sent after the reconnect');

    expect(requests('pods', false)).toHaveLength(1); // no re-list
    expect(requests('pods', true)).toEqual([expect.any(String), lastSeen]);
    expect(index().pod('198.19.3.21')?.name).toBe('extra-1');
  });

  it.each<['event' | 'status', string]>([
    ['event', 'an ERROR event with a 410 Expired Status, as the API server sends it'],
    ['status', 'an HTTP 410 Gone response'],
  ])('re-lists when the resourceVersion expired (%s: %s)', async (goneAs) => {
    server.goneAs = goneAs;
    await startWatcher();
    await waitFor(() => server.openWatches('pods') === 1, 'the pods watch');
    const firstList = server.currentResourceVersion();

    // While disconnected: one pod added, one deleted, and the history compacted, so only a new list can tell.
    server.breakWatches('end', 'pods');
    server.change('pods', 'ADDED', extraPod('extra-9', '198.19.3.29'));
    server.change('pods', 'DELETED', server.get('pods', 'default', 'api-2'));
    server.expireHistory();

    await waitFor(() => index().pod('198.19.3.29') && index().pod('198.19.3.11') === undefined, 'the state of the new list');
    const secondList = server.currentResourceVersion();
    expect(requests('pods', false)).toHaveLength(2);
    await waitFor(() => requests('pods', true).includes(secondList), 'a watch from the new list');
    expect(requests('pods', true)).toEqual([firstList, firstList, secondList]);

    server.change('pods', 'ADDED', extraPod('extra-10', '198.19.3.30'));
    await waitFor(() => index().pod('198.19.3.30'), 'a live event after the re-list');
    expect(requests('nodes', false)).toHaveLength(1); // other collections untouched
  });

  it('skips, counts and logs malformed objects and keeps going', async () => {
    const web = server.get('services', 'default', 'web');
    const broken = structuredClone(web);
    broken.metadata = { ...broken.metadata, name: 'broken', uid: 'uid-broken' };
    (broken['spec'] as { ports: { port: number }[] }).ports[0] = { port: 0 };
    (broken['spec'] as Record<string, unknown>)['clusterIP'] = '198.18.255.99';
    (broken['spec'] as Record<string, unknown>)['clusterIPs'] = ['198.18.255.99'];
    server.change('services', 'ADDED', broken); // in the first list
    await startWatcher();
    expect(index().services().map((s) => s.name)).toEqual(['api', 'web']);
    expect(resource('services')?.invalidObjects).toBe(1);

    await waitFor(() => server.openWatches('pods') === 1, 'the pods watch');
    const version = server.currentResourceVersion();
    const badPod = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'bad-ip', namespace: 'default', resourceVersion: version }, spec: {}, status: { podIP: 42 } };
    server.sendRaw('pods', JSON.stringify({ type: 'ADDED', object: badPod }));
    server.sendRaw('pods', JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1' } })); // no metadata
    server.sendRaw('pods', JSON.stringify({ type: 'MODIFIED', object: null }));
    server.sendRaw('pods', 'this line is not JSON'); // dropped by the client library itself, uncounted
    // A valid pod turned invalid: the stale version must not keep answering.
    const web3 = server.get('pods', 'default', 'web-3');
    (web3['status'] as Record<string, unknown>)['podIPs'] = 'not a list';
    server.change('pods', 'MODIFIED', web3);
    server.change('pods', 'ADDED', extraPod('extra-1', '198.19.3.21'));

    await waitFor(() => index().pod('198.19.3.21'), 'the valid pod after the bad ones');
    expect(resource('pods')?.invalidObjects).toBe(4);
    expect(index().pod('198.19.2.11')).toBeUndefined();
    expect(sut?.status().invalidObjects).toBe(5);
    const reasons = logs.filter((line) => line.msg.startsWith('skipped an invalid')).map((line) => line['reason']);
    expect(reasons).toEqual([
      'Service default/broken: spec.ports[0].port: expected number to be >=1, got 0',
      'Pod default/bad-ip: status.podIP: expected string, received number',
      'watch event "ADDED": not an event type with an object that has metadata.name',
      'watch event "MODIFIED": not an event type with an object that has metadata.name',
      'Pod default/web-3: status.podIPs: expected array, received string',
    ]);
  });

  it('retries a failed list with backoff and reports the failure in words', async () => {
    server.failNext('services', 'list', 403);
    server.failNext('services', 'list', 500);
    await startWatcher();
    expect(requests('services', false)).toHaveLength(3);
    expect(resource('services')).toMatchObject({ synced: true, restarts: 2, lists: 1 });
    expect(resource('services')?.lastError).toBeUndefined();
    expect(index().serviceFrontend('198.18.255.10', 80, 'tcp')?.name).toBe('web');
    const warnings = logs.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      'lost services: /api/v1/services: HTTP 403 Forbidden: grant the service account list and watch on services',
      'lost services: /api/v1/services: HTTP 500',
    ]);
  });

  it('restarts a watch the server refuses, from the same resourceVersion', async () => {
    await startWatcher();
    await waitFor(() => server.openWatches('nodes') === 1, 'the nodes watch');
    const listVersion = server.currentResourceVersion();
    server.failNext('nodes', 'watch', 500);
    server.breakWatches('end', 'nodes');
    await waitFor(() => resource('nodes')?.restarts === 1 && server.openWatches('nodes') === 1, 'the restarted watch');
    expect(requests('nodes', true)).toEqual([listVersion, listVersion, listVersion]);
    expect(requests('nodes', false)).toHaveLength(1);
    const node3 = server.get('nodes', undefined, 'node3');
    (node3['status'] as { addresses: { type: string; address: string }[] }).addresses.push({ type: 'ExternalIP', address: '192.0.2.13' });
    server.change('nodes', 'MODIFIED', node3);
    await waitFor(() => index().node('192.0.2.13') === 'node3', 'the node change after the restart');
  });

  it('rebuilds once for a burst of changes', async () => {
    await startWatcher({ debounceMs: 200 });
    await waitFor(() => server.openWatches('pods') === 1, 'the pods watch');
    const seen: ClusterIndex[] = [];
    sut?.onChange((next) => seen.push(next));
    for (let n = 1; n <= 20; n += 1) server.change('pods', 'ADDED', extraPod(`burst-${n}`, `198.19.3.${100 + n}`));
    await waitFor(() => index().pod('198.19.3.120'), 'the last pod of the burst');
    // One build when the burst arrives within the quiet time; two if a slow machine splits it. Not twenty.
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(seen[0]?.pod('198.19.3.101')?.name).toBe('burst-1');
  });

  it('refuses to start when the API server does not answer, naming it and every missing collection', async () => {
    const url = server.url;
    const options = server.kubeConfigOptions();
    await server.stop();
    server = await KubeApiReplayServer.start(); // for afterEach; the watcher talks to the stopped one
    const started = startWatcher({ kubeConfig: { kind: 'options', options }, syncTimeoutMs: 300 });
    await expect(started).rejects.toThrow(
      new RegExp(`^Kubernetes API ${url}: no first list within 300 ms of nodes \\(/api/v1/nodes: .*ECONNREFUSED.*\\), pods .*, services .*, endpointslices .*; check the address, credentials and RBAC$`),
    );
  });

  it('with workloads, follows each pod to its Deployment through its ReplicaSet, and watches the workloads too', async () => {
    await startWatcher({ workloads: true });
    expect(index().ownerOf({ namespace: 'default', name: 'web-3' })).toEqual({ known: true, workload: { kind: 'Deployment', namespace: 'default', name: 'web', selector: { matchLabels: { app: 'web' } } } });
    expect(index().ownerOf({ namespace: 'default', name: 'api-1' })).toMatchObject({ known: true, workload: { kind: 'Deployment', name: 'api' } });
    for (const name of ['replicasets', 'deployments', 'statefulsets', 'daemonsets'] as const) {
      expect(requests(name, false)).toEqual([undefined]);
      await waitFor(() => requests(name, true).length === 1, `the ${name} watch`);
    }
    // a rollout changes the selector (a new label): the remedy must use the cluster's selector, as it is now
    const deployment = server.get('deployments', 'default', 'web');
    (deployment['spec'] as { selector: object }).selector = { matchLabels: { app: 'web', track: 'stable' } };
    server.change('deployments', 'MODIFIED', deployment);
    await waitFor(() => {
      const owner = index().ownerOf({ namespace: 'default', name: 'web-1' });
      return owner.known && JSON.stringify(owner.workload.selector) === JSON.stringify({ matchLabels: { app: 'web', track: 'stable' } });
    }, 'the new selector');
    // the ReplicaSet goes away (its Deployment is deleted): the owner is no longer known, and the index says why
    server.change('replicasets', 'DELETED', server.get('replicasets', 'default', 'web-7c9f8d6b5'));
    await waitFor(() => !index().ownerOf({ namespace: 'default', name: 'web-1' }).known, 'the owner to be unknown');
    expect(index().ownerOf({ namespace: 'default', name: 'web-1' })).toEqual({ known: false, reason: 'its owner ReplicaSet web-7c9f8d6b5 is not in the cluster metadata', owner: { kind: 'ReplicaSet', name: 'web-7c9f8d6b5' } });
  });

  it('without workloads, asks the API server for none of them (agents need no RBAC on apps/v1)', async () => {
    await startWatcher();
    expect(server.requests.filter((r) => ['replicasets', 'deployments', 'statefulsets', 'daemonsets'].includes(r.resource))).toEqual([]);
    expect(index().ownerOf({ namespace: 'default', name: 'web-1' })).toMatchObject({ known: false, reason: 'its owner ReplicaSet web-7c9f8d6b5 is not in the cluster metadata' });
  });

  it('closes its watches on stop', async () => {
    await startWatcher();
    await waitFor(() => server.openWatches() === 4, 'four open watches');
    await sut?.stop();
    await waitFor(() => server.openWatches() === 0, 'no open watches');
  });
});
