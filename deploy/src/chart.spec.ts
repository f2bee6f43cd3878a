import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeApiServer, startFakeApiServer } from './fake-api-server';
import { CHART_DIR, helmLint, helmTemplate, helmTemplateUpgrade, type KubeObject, type Values } from './helm';
import { validateObject } from './k8s-schema';

/*
 * deploy/helm/natlens, rendered by helm 4 for every documented values combination and validated object by object
 * against the Kubernetes 1.35 API (k8s-schema.ts); the Secrets' tokens across renders; the refusals of settings that
 * cannot work; the agent's privileges; and each component's command against the natlens command line it starts.
 */

const REPO_ROOT = join(__dirname, '..', '..');
const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const NODE_TOKEN_SECRET = 'node-token-secret-0123456789abcdef0123';
const SESSION_SECRET = 'dashboard-session-secret-0123456789abcdef';
const NATS_HUB_PASSWORD = 'nats-hub-password-0123456789';
const NATS_AGENT_PASSWORD = 'nats-agent-password-0123456789';
/** Every token and secret of the tokens Secret, given. */
const ALL_TOKENS = { ingest: INGEST, read: READ, nodeTokenSecret: NODE_TOKEN_SECRET, dashboardSessionSecret: SESSION_SECRET };
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
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path: string; scheme?: string } };
  livenessProbe?: { httpGet?: { path: string; scheme?: string } };
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  dnsPolicy?: string;
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; secret?: { secretName: string; items?: { key: string; path: string }[] }; configMap?: { name: string } }[];
}
const podSpec = (object: KubeObject) => (object['spec'] as { template: { spec: PodSpec } }).template.spec;
const container = (objects: KubeObject[], kind: string, name: string) => podSpec(find(objects, kind, name)).containers[0] as Container;
const secretRefs = (c: Container) => Object.fromEntries((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, `${e.valueFrom?.secretKeyRef?.name}:${e.valueFrom?.secretKeyRef?.key}`]));
const envValues = (c: Container) => Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
const mounts = (c: Container) => Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));

const ALWAYS = ['ClusterRole/natlens-cluster-reader', 'ClusterRoleBinding/natlens-cluster-reader', 'ClusterRole/natlens-workload-reader', 'ClusterRoleBinding/natlens-workload-reader', 'Deployment/natlens-hub', 'Service/natlens-hub', 'ServiceAccount/natlens-agent', 'ServiceAccount/natlens-hub'];
const AGENT = ['DaemonSet/natlens-agent'];
const DASHBOARD = ['Deployment/natlens-dashboard', 'Service/natlens-dashboard', 'NetworkPolicy/natlens-dashboard'];
const POSTGRESQL = ['NetworkPolicy/natlens-postgresql', 'Service/natlens-postgresql', 'StatefulSet/natlens-postgresql'];
const NATS = ['ConfigMap/natlens-nats', 'NetworkPolicy/natlens-nats', 'Service/natlens-nats', 'StatefulSet/natlens-nats'];
const DEFAULT_OBJECTS = [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens'];

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
    [...ALWAYS, 'Secret/natlens-hub', 'Secret/natlens-tokens', 'Service/natlens-postgresql', 'StatefulSet/natlens-postgresql', 'ConfigMap/natlens-nats', 'Service/natlens-nats', 'StatefulSet/natlens-nats', 'PodMonitor/natlens-hub'],
  ],
  [
    'agent with every source and accounting, pinned image, pull secret, priority class',
    { agent: { sources: 'ebpf,conntrack,pcap', enableAccounting: true, priorityClassName: 'system-node-critical', nodeSelector: { 'kubernetes.io/os': 'linux' } }, image: { repository: 'registry.example/natlens', tag: '0.1.0' }, imagePullSecrets: [{ name: 'registry' }] },
    [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, ...NATS, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens'],
  ],
  ['node tokens, session secret and NATS passwords supplied in values', { tokens: ALL_TOKENS, nats: { auth: { hubPassword: NATS_HUB_PASSWORD, agentPassword: NATS_AGENT_PASSWORD } } }, DEFAULT_OBJECTS],
  [
    'bundled NATS: one user per node from a Secret, TLS, and only the nodes and the hubs may connect',
    { nats: { auth: { usersSecret: 'natlens-nats-users' }, tls: { secretName: 'natlens-nats-tls' } }, networkPolicy: { nodeCIDRs: ['10.0.0.0/24', '10.0.1.0/24'] } },
    DEFAULT_OBJECTS,
  ],
  [
    'TLS for the hub and the dashboard (cert-manager Secrets), PodMonitors over https',
    { hub: { tls: { secretName: 'natlens-hub-tls' } }, dashboard: { tls: { secretName: 'natlens-dashboard-tls' } }, monitoring: { podMonitor: { enabled: true } } },
    [...DEFAULT_OBJECTS, 'PodMonitor/natlens-agent', 'PodMonitor/natlens-hub'],
  ],
  [
    'dashboard behind an authenticating proxy, reachable from the ingress controller only',
    {
      dashboard: { authProxy: { userHeader: 'X-Forwarded-User', trustedProxies: ['10.42.0.0/16'], signOutUrl: '/oauth2/sign_out' }, origins: ['https://natlens.example'], sessionHours: 8, maxStreamsPerSession: 2 },
      networkPolicy: { dashboardFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] },
    },
    DEFAULT_OBJECTS,
  ],
  [
    'your NATS with users: credentials from your Secret through extraEnv',
    {
      nats: { enabled: false },
      bus: { url: 'tls://nats.example:4222' },
      hub: { extraEnv: [{ name: 'NATLENS_BUS_USER', value: 'natlens-hub' }, { name: 'NATLENS_BUS_PASSWORD', valueFrom: { secretKeyRef: { name: 'my-nats', key: 'hub-password' } } }] },
      agent: { extraEnv: [{ name: 'NATLENS_BUS_AUTH', value: 'node-token' }] },
    },
    [...ALWAYS, ...AGENT, ...DASHBOARD, ...POSTGRESQL, 'NetworkPolicy/natlens-hub', 'Secret/natlens-hub', 'Secret/natlens-tokens'],
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
    ['tokens twice', { tokens: { existingSecret: 'my-tokens', ingest: INGEST } }, 'tokens.existingSecret and tokens.ingest/tokens.read/tokens.nodeTokenSecret/tokens.dashboardSessionSecret both supply the tokens'],
    ['a node token secret beside an existing Secret', { tokens: { existingSecret: 'my-tokens', nodeTokenSecret: NODE_TOKEN_SECRET } }, 'both supply the tokens'],
    ['a short token', { tokens: { ingest: 'short', read: READ } }, 'tokens.ingest must be at least 16 characters'],
    ['a short node token secret', { tokens: { nodeTokenSecret: 'sixteen-chars-ok' } }, 'tokens.nodeTokenSecret must be at least 32 characters'],
    ['a short session secret', { tokens: { dashboardSessionSecret: 'too-short' } }, 'tokens.dashboardSessionSecret must be at least 32 characters'],
    ['a proxy header trusted from anywhere', { dashboard: { authProxy: { userHeader: 'X-Forwarded-User' } } }, 'dashboard.authProxy.userHeader is believed only from dashboard.authProxy.trustedProxies'],
    ['NATS users without the bundled NATS', { nats: { enabled: false, auth: { usersSecret: 'users' } }, bus: { url: EXTERNAL_BUS } }, 'nats.auth.usersSecret and nats.tls.secretName configure the bundled NATS'],
    ['NATS passwords beside an existing hub Secret', { hub: { existingSecret: 'my-hub' }, nats: { auth: { hubPassword: NATS_HUB_PASSWORD } } }, 'hub.existingSecret supplies the NATS passwords'],
  ])('refuses %s with what to set instead', (_name, values, message) => {
    // (helm lint only logs a template's `fail`; helm template and install stop on it)
    expect(() => helmTemplate(values)).toThrow(message);
  });

  describe('Secrets', () => {
    it('renders supplied tokens and password identically every time (what a GitOps tool needs)', () => {
      const values = { tokens: ALL_TOKENS, postgresql: { password: 'pg-password-0123456789' }, nats: { auth: { hubPassword: NATS_HUB_PASSWORD, agentPassword: NATS_AGENT_PASSWORD } } };
      const [first, second] = [helmTemplate(values), helmTemplate(values)] as [KubeObject[], KubeObject[]];
      expect(stringData(first, 'natlens-tokens')).toEqual({ 'ingest-token': INGEST, 'read-token': READ, 'node-token-secret': NODE_TOKEN_SECRET, 'dashboard-session-secret': SESSION_SECRET });
      expect(stringData(second, 'natlens-tokens')).toEqual(stringData(first, 'natlens-tokens'));
      expect(stringData(second, 'natlens-hub')).toEqual(stringData(first, 'natlens-hub'));
      expect(stringData(first, 'natlens-hub')).toEqual({
        'postgres-password': 'pg-password-0123456789',
        'store-url': 'postgres://natlens:pg-password-0123456789@natlens-postgresql:5432/natlens',
        'bus-url': 'nats://natlens-nats:4222',
        'nats-hub-password': NATS_HUB_PASSWORD,
        'nats-agent-password': NATS_AGENT_PASSWORD,
      });
    });

    it('generates tokens, secrets and NATS passwords when none are given; without a cluster to read them back, each render has new ones', () => {
      const [first, second] = [stringData(helmTemplate({}), 'natlens-tokens'), stringData(helmTemplate({}), 'natlens-tokens')];
      expect(Object.keys(first).sort()).toEqual(['dashboard-session-secret', 'ingest-token', 'node-token-secret', 'read-token']);
      for (const token of [...Object.values(first), ...Object.values(second)]) expect(token).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(second['ingest-token']).not.toBe(first['ingest-token']);
      const hub = stringData(helmTemplate({}), 'natlens-hub');
      expect([hub['nats-hub-password'], hub['nats-agent-password']]).toEqual([expect.stringMatching(/^[A-Za-z0-9]{32}$/), expect.stringMatching(/^[A-Za-z0-9]{32}$/)]);
    });

    describe('at an upgrade (helm reads the live Secrets from the API server)', () => {
      const live = {
        'natlens-tokens': { 'ingest-token': 'live-ingest-token-0123456789', 'read-token': 'live-read-token-0123456789ab', 'node-token-secret': 'live-node-token-secret-0123456789abcdef', 'dashboard-session-secret': 'live-session-secret-0123456789abcdef01' },
        'natlens-hub': { 'postgres-password': 'live-pg-password-0123456789', 'nats-hub-password': 'live-nats-hub-password-0123', 'nats-agent-password': 'live-nats-agent-password-01' },
      };
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
          'nats-hub-password': 'live-nats-hub-password-0123',
          'nats-agent-password': 'live-nats-agent-password-01',
        });
        expect(api.requests).toEqual(expect.arrayContaining(['/api/v1/namespaces/natlens/secrets/natlens-tokens', '/api/v1/namespaces/natlens/secrets/natlens-hub']));
      });

      it('takes a value given in values over the live one', async () => {
        expect(stringData(await helmTemplateUpgrade({ tokens: { ingest: INGEST } }, api.url), 'natlens-tokens')).toEqual({ ...live['natlens-tokens'], 'ingest-token': INGEST });
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
        NATLENS_NODE_TOKEN_SECRET: 'my-tokens:node-token-secret',
      });
      expect(secretRefs(container(objects, 'Deployment', 'natlens-dashboard'))).toEqual({ NATLENS_HUB_TOKEN: 'my-tokens:read-token', NATLENS_DASHBOARD_SESSION_SECRET: 'my-tokens:dashboard-session-secret' });
      expect(secretRefs(container(objects, 'DaemonSet', 'natlens-agent'))).toEqual({ NATLENS_BUS: 'my-hub:bus-url', NATLENS_NODE_TOKEN_SECRET: 'my-tokens:node-token-secret', NATLENS_AGENT_READ_TOKENS: 'my-tokens:read-token' });
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

    it('adds NET_RAW, SETUID and SETGID for tcpdump only with the pcap source', () => {
      expect((spec({ agent: { sources: 'conntrack, pcap' } }).containers[0]?.securityContext?.['capabilities'] as { add: string[] }).add).toEqual(['NET_ADMIN', 'BPF', 'PERFMON', 'SYS_RESOURCE', 'NET_RAW', 'SETUID', 'SETGID']);
    });
  });

  describe('who may read and write (SECURITY.md)', () => {
    const permissions = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'nats-permissions.json'), 'utf8')) as { hub: unknown; sharedAgent: unknown };
    const natsConf = (objects: KubeObject[]) => (find(objects, 'ConfigMap', 'natlens-nats')['data'] as Record<string, string>)['nats.conf'] ?? '';
    /** The users of a rendered `authorization` block: name → [password expression, permissions]. */
    const natsUsers = (conf: string) =>
      Object.fromEntries([...conf.matchAll(/\{ user: "([^"]+)", password: (\S+), permissions: (\{.*\}) \}/g)].map((m) => [m[1], [m[2], JSON.parse(m[3] as string) as unknown]]));

    it('signs the hub and the agents in to the bundled NATS with the users of files/nats-permissions.json, passwords from the hub Secret', () => {
      const objects = helmTemplate({});
      // nats-server's parser knows no \uXXXX escape (helm's toJson writes `>` so); apps/hub's chart-nats-permissions
      // spec runs this block on a real nats-server
      expect(natsConf(objects)).not.toMatch(/\\u[0-9a-f]{4}/);
      expect(natsUsers(natsConf(objects))).toEqual({
        'natlens-hub': ['$NATLENS_HUB_NATS_PASSWORD', permissions.hub],
        'natlens-agent': ['$NATLENS_AGENT_NATS_PASSWORD', permissions.sharedAgent],
      });
      const nats = find(objects, 'StatefulSet', 'natlens-nats');
      expect(secretRefs(podSpec(nats).containers[0] as Container)).toEqual({ NATLENS_HUB_NATS_PASSWORD: 'natlens-hub:nats-hub-password', NATLENS_AGENT_NATS_PASSWORD: 'natlens-hub:nats-agent-password' });
      expect((podSpec(nats).containers[0] as Container).args).toEqual(['-c', '/etc/nats/nats.conf']);
      const hub = container(objects, 'Deployment', 'natlens-hub');
      expect([envValues(hub)['NATLENS_BUS_USER'], secretRefs(hub)['NATLENS_BUS_PASSWORD']]).toEqual(['natlens-hub', 'natlens-hub:nats-hub-password']);
      const agent = container(objects, 'DaemonSet', 'natlens-agent');
      expect([envValues(agent)['NATLENS_BUS_USER'], secretRefs(agent)['NATLENS_BUS_PASSWORD']]).toEqual(['natlens-agent', 'natlens-hub:nats-agent-password']);
    });

    it('tells the hubs how many deliveries a failing batch gets before its dead letter', () => {
      expect(envValues(container(helmTemplate({}), 'Deployment', 'natlens-hub'))).toEqual(expect.objectContaining({ NATLENS_BUS_CONCURRENCY: '4', NATLENS_BUS_MAX_DELIVER: '5' }));
      expect(envValues(container(helmTemplate({ hub: { busMaxDeliver: 8 } }), 'Deployment', 'natlens-hub'))['NATLENS_BUS_MAX_DELIVER']).toBe('8');
    });

    it('gives the agents their node token (derived) and the read token for their local API', () => {
      const agent = container(helmTemplate({}), 'DaemonSet', 'natlens-agent');
      expect(secretRefs(agent)).toEqual(expect.objectContaining({ NATLENS_NODE_TOKEN_SECRET: 'natlens-tokens:node-token-secret', NATLENS_AGENT_READ_TOKENS: 'natlens-tokens:read-token' }));
      expect(agent.env?.find((e) => e.name === 'NATLENS_NODE')).toEqual({ name: 'NATLENS_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    });

    it('with one NATS user per node, includes the Secret `natlens nats-config` wrote and signs agents in with their node token', () => {
      const objects = helmTemplate({ nats: { auth: { usersSecret: 'natlens-nats-users' } } });
      expect(natsConf(objects)).toContain('include ./users/auth.conf');
      expect(natsUsers(natsConf(objects))).toEqual({});
      const nats = podSpec(find(objects, 'StatefulSet', 'natlens-nats'));
      expect(nats.volumes).toEqual(expect.arrayContaining([{ name: 'users', secret: { secretName: 'natlens-nats-users' } }]));
      expect(mounts(nats.containers[0] as Container)['users']).toBe('/etc/nats/users');
      const agent = container(objects, 'DaemonSet', 'natlens-agent');
      expect(envValues(agent)['NATLENS_BUS_AUTH']).toBe('node-token');
      expect(envValues(agent)['NATLENS_BUS_USER']).toBeUndefined();
    });

    it('serves TLS from kubernetes.io/tls Secrets and checks every server with its ca.crt', () => {
      const objects = helmTemplate({ hub: { tls: { secretName: 'hub-tls' } }, dashboard: { tls: { secretName: 'dashboard-tls' } }, nats: { tls: { secretName: 'nats-tls' } }, monitoring: { podMonitor: { enabled: true } } });
      const hub = container(objects, 'Deployment', 'natlens-hub');
      expect(envValues(hub)).toEqual(expect.objectContaining({ NATLENS_HUB_TLS_CERT_FILE: '/etc/natlens/hub-tls/tls.crt', NATLENS_HUB_TLS_KEY_FILE: '/etc/natlens/hub-tls/tls.key', NATLENS_BUS_TLS_CA_FILE: '/etc/natlens/nats-tls/ca.crt' }));
      expect(mounts(hub)).toEqual(expect.objectContaining({ 'hub-tls': '/etc/natlens/hub-tls', 'nats-tls': '/etc/natlens/nats-tls' }));
      expect(hub.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTPS' });
      // liveness touches no store: a slow database takes the replica out of the Service, it does not restart it
      expect(hub.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTPS' });
      const dashboard = container(objects, 'Deployment', 'natlens-dashboard');
      expect(envValues(dashboard)).toEqual(
        expect.objectContaining({ NATLENS_HUB_URL: 'https://natlens-hub:8470', NODE_EXTRA_CA_CERTS: '/etc/natlens/hub-ca/ca.crt', NATLENS_DASHBOARD_TLS_CERT_FILE: '/etc/natlens/dashboard-tls/tls.crt', NATLENS_DASHBOARD_TLS_KEY_FILE: '/etc/natlens/dashboard-tls/tls.key' }),
      );
      expect(dashboard.readinessProbe?.httpGet).toEqual({ path: '/api/healthz', port: 'http', scheme: 'HTTPS' });
      // clients get the CA only, never the server's key
      expect(podSpec(find(objects, 'Deployment', 'natlens-dashboard')).volumes).toEqual(expect.arrayContaining([{ name: 'hub-ca', secret: { secretName: 'hub-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]));
      expect(podSpec(find(objects, 'DaemonSet', 'natlens-agent')).volumes).toEqual(expect.arrayContaining([{ name: 'nats-tls', secret: { secretName: 'nats-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]));
      expect(envValues(container(objects, 'DaemonSet', 'natlens-agent'))['NATLENS_BUS_TLS_CA_FILE']).toBe('/etc/natlens/nats-tls/ca.crt');
      expect(natsConf(objects)).toContain('tls { cert_file: "/etc/nats/tls/tls.crt", key_file: "/etc/nats/tls/tls.key" }');
      expect((find(objects, 'PodMonitor', 'natlens-hub')['spec'] as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints[0]).toEqual(
        expect.objectContaining({ scheme: 'https', tlsConfig: { ca: { secret: { name: 'hub-tls', key: 'ca.crt' } }, serverName: 'natlens-hub' } }),
      );
    });

    it('passes the dashboard its session and proxy settings', () => {
      const dashboard = container(
        helmTemplate({ dashboard: { sessionHours: 8, maxStreamsPerSession: 2, authProxy: { userHeader: 'X-Forwarded-User', trustedProxies: ['10.42.0.0/16', '10.43.0.5'], signOutUrl: '/oauth2/sign_out' }, origins: ['https://natlens.example'] } }),
        'Deployment',
        'natlens-dashboard',
      );
      expect(envValues(dashboard)).toEqual(
        expect.objectContaining({
          NATLENS_DASHBOARD_SESSION_HOURS: '8',
          NATLENS_DASHBOARD_MAX_STREAMS: '2',
          NATLENS_DASHBOARD_PROXY_USER_HEADER: 'X-Forwarded-User',
          NATLENS_DASHBOARD_TRUSTED_PROXIES: '10.42.0.0/16,10.43.0.5',
          NATLENS_DASHBOARD_PROXY_SIGNOUT_URL: '/oauth2/sign_out',
          NATLENS_DASHBOARD_ORIGINS: 'https://natlens.example',
        }),
      );
      expect(secretRefs(dashboard)['NATLENS_DASHBOARD_SESSION_SECRET']).toBe('natlens-tokens:dashboard-session-secret');
    });

    it('lets only the hubs and the nodes reach NATS once the nodes\' CIDRs are known, and the dashboard and hubIngressFrom the hub', () => {
      type Policy = { spec: { ingress: { from?: Record<string, unknown>[]; ports: unknown[] }[] } };
      const policy = (objects: KubeObject[], name: string) => find(objects, 'NetworkPolicy', name) as unknown as Policy;
      const hubPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'natlens', 'app.kubernetes.io/instance': 'natlens', 'app.kubernetes.io/component': 'hub' } } };
      const dashboardPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'natlens', 'app.kubernetes.io/instance': 'natlens', 'app.kubernetes.io/component': 'dashboard' } } };
      const open = helmTemplate({});
      expect(policy(open, 'natlens-nats').spec.ingress).toEqual([{ ports: [{ port: 4222, protocol: 'TCP' }] }]);
      expect(policy(open, 'natlens-hub').spec.ingress[0]?.from).toEqual([dashboardPods, { podSelector: {} }]);
      expect(policy(open, 'natlens-dashboard').spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
      const closed = helmTemplate({ networkPolicy: { nodeCIDRs: ['10.0.0.0/24'], hubIngressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], dashboardFrom: [{ podSelector: { matchLabels: { app: 'ingress' } } }] } });
      expect(policy(closed, 'natlens-nats').spec.ingress).toEqual([{ from: [hubPods, { ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 4222, protocol: 'TCP' }] }]);
      expect(policy(closed, 'natlens-hub').spec.ingress[0]?.from).toEqual([dashboardPods, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }, { ipBlock: { cidr: '10.0.0.0/24' } }]);
      expect(policy(closed, 'natlens-dashboard').spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { app: 'ingress' } } }] }]);
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

    it('Deployment natlens-dashboard: the dashboard\'s own server, beside the compiled standalone build, on the Service\'s port', () => {
      const c = container(objects, 'Deployment', 'natlens-dashboard');
      expect(c.command).toEqual(['node', 'dist/apps/dashboard/apps/dashboard/server/serve.mjs', '--port', '3000']);
      const help = run([...c.command.slice(0, 2), '--help']);
      expect({ status: help.status, port: help.stdout.includes('--port <n>') }).toEqual({ status: 0, port: true });
    });
  });
});
