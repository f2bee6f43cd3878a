import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type FakeApiServer, startFakeApiServer } from './fake-api-server';
import { helmLint, helmTemplate, helmTemplateUpgrade, type KubeObject, type Values } from './helm';
import { validateObject } from './k8s-schema';

/*
 * deploy/helm/natlens, rendered by helm 4 for every documented values combination and validated object by object
 * against the Kubernetes 1.35 API (k8s-schema.ts); the Secrets' tokens across renders; the refusals of settings that
 * cannot work; the agent's privileges; and each component's command against the natlens command line it starts.
 */

const REPO_ROOT = join(__dirname, '..', '..');
const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const EXTERNAL_STORE = 'postgres://natlens:s3cret@db.example:5432/natlens';
const EXTERNAL_BUS = 'nats://nats.example:4222';
/** helm's longest release name. */
const LONG_RELEASE = 'a-release-name-of-fifty-three-characters-helm-s-limit';

const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const find = (objects: KubeObject[], kind: string, name: string) => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${kind}/${name} was not rendered; got ${names(objects).join(', ')}`);
  return object;
};
const stringData = (objects: KubeObject[], name: string) => find(objects, 'Secret', name)['stringData'] as Record<string, string>;

interface Container {
  name: string;
  command: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  dnsPolicy?: string;
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string } }[];
}
const podSpec = (object: KubeObject) => (object['spec'] as { template: { spec: PodSpec } }).template.spec;
const container = (objects: KubeObject[], kind: string, name: string) => podSpec(find(objects, kind, name)).containers[0] as Container;
const secretRefs = (c: Container) => Object.fromEntries((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, `${e.valueFrom?.secretKeyRef?.name}:${e.valueFrom?.secretKeyRef?.key}`]));

const ALWAYS = ['ClusterRole/natlens-cluster-reader', 'ClusterRoleBinding/natlens-cluster-reader', 'ClusterRole/natlens-workload-reader', 'ClusterRoleBinding/natlens-workload-reader', 'Deployment/natlens-hub', 'Service/natlens-hub', 'ServiceAccount/natlens-agent', 'ServiceAccount/natlens-hub'];
const AGENT = ['DaemonSet/natlens-agent'];
const DASHBOARD = ['Deployment/natlens-dashboard', 'Service/natlens-dashboard'];
const POSTGRESQL = ['NetworkPolicy/natlens-postgresql', 'Service/natlens-postgresql', 'StatefulSet/natlens-postgresql'];
const NATS = ['NetworkPolicy/natlens-nats', 'Service/natlens-nats', 'StatefulSet/natlens-nats'];

// Each documented combination (values.yaml, README "Kubernetes") with the objects it must render.
const COMBINATIONS: [name: string, values: Values, objects: string[]][] = [
  ['defaults: bundled PostgreSQL and NATS, generated tokens', {}, [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens']],
  ['tokens supplied in values', { tokens: { ingest: INGEST, read: READ } }, [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens']],
  ['tokens from an existing Secret', { tokens: { existingSecret: 'my-tokens' } }, [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub']],
  [
    'external PostgreSQL and NATS by URL',
    { postgresql: { enabled: false }, nats: { enabled: false }, store: { url: EXTERNAL_STORE }, bus: { url: EXTERNAL_BUS } },
    [...ALWAYS, ...AGENT, ...DASHBOARD, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens'],
  ],
  ['external PostgreSQL, bundled NATS', { postgresql: { enabled: false }, store: { url: EXTERNAL_STORE } }, [...ALWAYS, ...AGENT, ...DASHBOARD, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens']],
  ['bundled PostgreSQL, external NATS', { nats: { enabled: false }, bus: { url: EXTERNAL_BUS } }, [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens']],
  [
    'store and bus from an existing Secret, tokens too',
    { postgresql: { enabled: false }, nats: { enabled: false }, hub: { existingSecret: 'my-hub' }, tokens: { existingSecret: 'my-tokens' } },
    [...ALWAYS, ...AGENT, ...DASHBOARD, 'NetworkPolicy/natlens-hub'],
  ],
  [
    'Prometheus Operator: PodMonitors and the PrometheusRule',
    { monitoring: { podMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } }, prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } } }, networkPolicy: { hubIngressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] } },
    [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens', 'PodMonitor/natlens-agent', 'PodMonitor/natlens-hub', 'PrometheusRule/natlens'],
  ],
  [
    'no agent, no dashboard, no NetworkPolicy',
    { agent: { enabled: false }, dashboard: { enabled: false }, networkPolicy: { enabled: false }, monitoring: { podMonitor: { enabled: true } } },
    [...ALWAYS, 'Secret/natlens-hub', 'Secret/natlens-tokens', 'Service/natlens-postgresql', 'StatefulSet/natlens-postgresql', 'Service/natlens-nats', 'StatefulSet/natlens-nats', 'PodMonitor/natlens-hub'],
  ],
  [
    'agent with every source and accounting, pinned image, pull secret, priority class',
    { agent: { sources: 'ebpf,conntrack,pcap', enableAccounting: true, priorityClassName: 'system-node-critical', nodeSelector: { 'kubernetes.io/os': 'linux' } }, image: { repository: 'registry.example/natlens', tag: '0.1.0' }, imagePullSecrets: [{ name: 'registry' }] },
    [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens'],
  ],
];

describe('the Helm chart, rendered for Kubernetes 1.35', () => {
  it.each(COMBINATIONS)('%s: helm lint passes and every object is valid', (_name, values, expected) => {
    const lint = helmLint(values);
    expect({ status: lint.status, output: lint.status === 0 ? '' : lint.stdout + lint.stderr }).toEqual({ status: 0, output: '' });
    const objects = helmTemplate(values);
    expect(names(objects)).toEqual([...expected].sort());
    expect(objects.flatMap(validateObject)).toEqual([]);
  });

  it('keeps every name valid under helm\'s longest release name', () => {
    const objects = helmTemplate({ monitoring: { podMonitor: { enabled: true }, prometheusRule: { enabled: true } } }, { release: LONG_RELEASE });
    expect(objects.flatMap(validateObject)).toEqual([]);
    // the StatefulSet's pods get a controller-revision-hash label <name>-<10 characters>: 63 at most
    for (const set of objects.filter((o) => o.kind === 'StatefulSet')) expect(set.metadata.name.length + 11).toBeLessThanOrEqual(63);
  });

  it('names objects <release>-natlens, or after the release alone when it already says natlens', () => {
    expect(names(helmTemplate({}, { release: 'observe' }))).toContain('Deployment/observe-natlens-hub');
    expect(names(helmTemplate({}, { release: 'natlens-prod' }))).toContain('Deployment/natlens-prod-hub');
  });

  it.each([
    ['no store', { postgresql: { enabled: false } }, 'the hub needs PostgreSQL'],
    ['no bus', { nats: { enabled: false } }, 'agents and hubs need NATS JetStream'],
    ['two stores', { store: { url: EXTERNAL_STORE } }, 'store.url and postgresql.enabled=true both name the store'],
    ['two buses', { bus: { url: EXTERNAL_BUS } }, 'bus.url and nats.enabled=true both name the bus'],
    ['existing hub Secret and URLs', { hub: { existingSecret: 'my-hub' }, postgresql: { enabled: false }, store: { url: EXTERNAL_STORE } }, 'hub.existingSecret supplies store-url and bus-url'],
    ['tokens twice', { tokens: { existingSecret: 'my-tokens', ingest: INGEST } }, 'tokens.existingSecret and tokens.ingest/tokens.read both supply the tokens'],
    ['a short token', { tokens: { ingest: 'short', read: READ } }, 'tokens.ingest must be at least 16 characters'],
  ])('refuses %s with what to set instead', (_name, values, message) => {
    // (helm lint only logs a template's `fail`; helm template and install stop on it)
    expect(() => helmTemplate(values)).toThrow(message);
  });

  describe('Secrets', () => {
    it('renders supplied tokens and password identically every time (what a GitOps tool needs)', () => {
      const values = { tokens: { ingest: INGEST, read: READ }, postgresql: { password: 'pg-password-0123456789' } };
      const [first, second] = [helmTemplate(values), helmTemplate(values)] as [KubeObject[], KubeObject[]];
      expect(stringData(first, 'natlens-tokens')).toEqual({ 'ingest-token': INGEST, 'read-token': READ });
      expect(stringData(second, 'natlens-tokens')).toEqual(stringData(first, 'natlens-tokens'));
      expect(stringData(second, 'natlens-hub')).toEqual(stringData(first, 'natlens-hub'));
      expect(stringData(first, 'natlens-hub')).toEqual({
        'postgres-password': 'pg-password-0123456789',
        'store-url': 'postgres://natlens:pg-password-0123456789@natlens-postgresql:5432/natlens',
        'bus-url': 'nats://natlens-nats:4222',
      });
    });

    it('generates tokens when none are given; without a cluster to read them back, each render has new ones', () => {
      const [first, second] = [stringData(helmTemplate({}), 'natlens-tokens'), stringData(helmTemplate({}), 'natlens-tokens')];
      for (const token of [...Object.values(first), ...Object.values(second)]) expect(token).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(second['ingest-token']).not.toBe(first['ingest-token']);
    });

    describe('at an upgrade (helm reads the live Secrets from the API server)', () => {
      const live = { 'natlens-tokens': { 'ingest-token': 'live-ingest-token-0123456789', 'read-token': 'live-read-token-0123456789ab' }, 'natlens-hub': { 'postgres-password': 'live-pg-password-0123456789' } };
      let api: FakeApiServer;
      beforeAll(async () => {
        api = await startFakeApiServer({ natlens: live });
      });
      afterAll(() => api.close());

      it('keeps the generated tokens and password of the live Secrets', async () => {
        const objects = await helmTemplateUpgrade({}, api.url);
        expect(stringData(objects, 'natlens-tokens')).toEqual(live['natlens-tokens']);
        expect(stringData(objects, 'natlens-hub')).toEqual({
          'postgres-password': 'live-pg-password-0123456789',
          'store-url': 'postgres://natlens:live-pg-password-0123456789@natlens-postgresql:5432/natlens',
          'bus-url': 'nats://natlens-nats:4222',
        });
        expect(api.requests).toEqual(expect.arrayContaining(['/api/v1/namespaces/natlens/secrets/natlens-tokens', '/api/v1/namespaces/natlens/secrets/natlens-hub']));
      });

      it('takes a value given in values over the live one', async () => {
        expect(stringData(await helmTemplateUpgrade({ tokens: { ingest: INGEST } }, api.url), 'natlens-tokens')).toEqual({ 'ingest-token': INGEST, 'read-token': live['natlens-tokens']['read-token'] });
      });

      it('generates what no live Secret holds', async () => {
        const tokens = stringData(await helmTemplateUpgrade({}, api.url, { release: 'other' }), 'other-natlens-tokens');
        expect(Object.values(tokens).every((t) => /^[A-Za-z0-9]{32}$/.test(t))).toBe(true);
      });
    });

    it('escapes a generated or given PostgreSQL password inside the store URL', () => {
      expect(stringData(helmTemplate({ postgresql: { password: 'p@ss/w:rd?0123456789' } }), 'natlens-hub')['store-url']).toBe('postgres://natlens:p%40ss%2Fw%3Ard%3F0123456789@natlens-postgresql:5432/natlens');
    });

    it('points every consumer at the Secrets it was given', () => {
      const objects = helmTemplate({ postgresql: { enabled: false }, nats: { enabled: false }, hub: { existingSecret: 'my-hub' }, tokens: { existingSecret: 'my-tokens' } });
      expect(secretRefs(container(objects, 'Deployment', 'natlens-hub'))).toEqual({
        NATLENS_STORE: 'my-hub:store-url',
        NATLENS_BUS: 'my-hub:bus-url',
        NATLENS_HUB_TOKENS: 'my-tokens:ingest-token',
        NATLENS_HUB_READ_TOKENS: 'my-tokens:read-token',
      });
      expect(secretRefs(container(objects, 'Deployment', 'natlens-dashboard'))).toEqual({ NATLENS_HUB_TOKEN: 'my-tokens:read-token' });
      expect(secretRefs(container(objects, 'DaemonSet', 'natlens-agent'))).toEqual({ NATLENS_BUS: 'my-hub:bus-url' });
    });

    it('writes external URLs into the chart\'s hub Secret', () => {
      const objects = helmTemplate({ postgresql: { enabled: false }, nats: { enabled: false }, store: { url: EXTERNAL_STORE }, bus: { url: EXTERNAL_BUS } });
      expect(stringData(objects, 'natlens-hub')).toEqual({ 'store-url': EXTERNAL_STORE, 'bus-url': EXTERNAL_BUS });
    });
  });

  it('lets the agents and the hubs read the cluster\'s nodes, pods, services and endpointslices, nothing more', () => {
    const objects = helmTemplate({});
    expect(find(objects, 'ClusterRole', 'natlens-cluster-reader')['rules']).toEqual([
      { apiGroups: [''], resources: ['nodes', 'pods', 'services'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(find(objects, 'ClusterRoleBinding', 'natlens-cluster-reader')['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'natlens-agent', namespace: 'natlens' },
      { kind: 'ServiceAccount', name: 'natlens-hub', namespace: 'natlens' },
    ]);
    for (const [kind, name] of [['DaemonSet', 'natlens-agent'], ['Deployment', 'natlens-hub']] as const) {
      expect(podSpec(find(objects, kind, name))).toEqual(expect.objectContaining({ serviceAccountName: name }));
      expect(podSpec(find(objects, kind, name))).not.toHaveProperty('automountServiceAccountToken');
    }
  });

  describe('the agent DaemonSet', () => {
    const spec = (values: Values = {}) => podSpec(find(helmTemplate(values), 'DaemonSet', 'natlens-agent'));

    it('runs as root on the node\'s network with only the capabilities it needs, unprivileged', () => {
      const pod = spec();
      expect({ hostNetwork: pod.hostNetwork, hostPID: pod.hostPID, dnsPolicy: pod.dnsPolicy }).toEqual({ hostNetwork: true, hostPID: undefined, dnsPolicy: 'ClusterFirstWithHostNet' });
      expect(pod.containers[0]?.securityContext).toEqual({
        runAsUser: 0,
        runAsNonRoot: false,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'BPF', 'PERFMON', 'SYS_RESOURCE'] },
      });
      // one host directory: the spool (BTF is in the container's own sysfs; nothing is pinned in bpffs)
      expect(pod.volumes?.filter((v) => v.hostPath).map((v) => v.hostPath?.path)).toEqual(['/var/lib/natlens/spool']);
    });

    it('adds NET_RAW for tcpdump only with the pcap source', () => {
      expect((spec({ agent: { sources: 'conntrack, pcap' } }).containers[0]?.securityContext?.['capabilities'] as { add: string[] }).add).toEqual(['NET_ADMIN', 'BPF', 'PERFMON', 'SYS_RESOURCE', 'NET_RAW']);
    });
  });

  describe('each component\'s command starts that component of the natlens command line', () => {
    const objects = helmTemplate({ agent: { sources: 'ebpf', enableAccounting: true } });
    const flagsOf = (args: string[] = []) => args.map((a) => a.split('=')[0] as string);
    const run = (argv: string[]) => spawnSync(argv[0] as string, argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });

    // The image's working directory is laid out like this repository (bin/natlens, node_modules, apps/dashboard).
    it.each([
      ['DaemonSet', 'natlens-agent', 'natlens agent'],
      ['Deployment', 'natlens-hub', 'natlens hub'],
    ])('%s %s: `%s`, with flags it knows', (kind, name, usage) => {
      const c = container(objects, kind, name);
      const help = run([...c.command, '--help']);
      expect({ status: help.status, usage: help.stdout.split('\n')[0] }).toEqual({ status: 0, usage: `Usage: ${usage} [options]` });
      for (const flag of flagsOf(c.args)) expect(help.stdout).toContain(`${flag} `);
    });

    it('Deployment natlens-dashboard: `next start` of apps/dashboard on the Service\'s port', () => {
      const c = container(objects, 'Deployment', 'natlens-dashboard');
      expect(c.command.slice(-3)).toEqual(['apps/dashboard', '-p', '3000']);
      const help = run([...c.command.slice(0, 2), '--help']);
      expect({ status: help.status, stdout: help.stdout }).toEqual({ status: 0, stdout: expect.stringContaining('--port') });
    });
  });
});
