import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ProxyHealth, ServiceHealthCheck } from '@natlens/shared-model';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config';
import { AgentMetrics } from '../metrics/agent-metrics';
import type { NodeViewSource } from '../node/node-view.source';
import { AGENT_CONFIG, CLUSTER_SOURCE, LOGGER } from '../tokens';
import { parseProxyHealthBody, parseServiceHealthBody } from './health-check-body';
import { HttpProbeRepository, type ProbeResponse } from './http-probe.repository';
import { healthCheckTargets, probeAddress } from './probe-targets';

/** kube-proxy's answers live under any path on a healthCheckNodePort; load balancers commonly ask for /healthz. */
const SERVICE_PATH = '/healthz';
const PROXY_PATH = '/healthz';

type Outcome = 'healthy' | 'unhealthy' | 'no-answer' | 'malformed';

export interface HealthCheckResults {
  readonly healthChecks: readonly ServiceHealthCheck[];
  readonly proxyHealth?: ProxyHealth;
}

/*
 * Probes, every --health-check-interval-ms, what a load balancer probes on this node: each Local-policy LoadBalancer
 * Service's healthCheckNodePort and kube-proxy's own /healthz, on the node's address, with a short timeout. The
 * answers (status, the body's localEndpoints, latency, time; no answer is an answer too) are kept for the node report
 * and /healthz: they are observed facts, where the endpoint counts are what the cluster's objects say should be.
 */
@Injectable()
export class HealthCheckProber implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private healthChecks: ServiceHealthCheck[] = [];
  private proxyHealth: ProxyHealth | undefined;
  private address: string | undefined;
  private rounds = 0;
  private lastRoundAt: number | undefined;
  private readonly warned = new Set<string>();

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(AgentMetrics) private readonly metrics: AgentMetrics,
    @Inject(CLUSTER_SOURCE) private readonly cluster: Pick<NodeViewSource, 'current' | 'addresses'>,
    @Inject(HttpProbeRepository) private readonly http: HttpProbeRepository,
  ) {}

  get enabled(): boolean {
    return this.config.healthCheckIntervalMs > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.probeRound(), this.config.healthCheckIntervalMs);
    this.timer.unref();
    void this.probeRound();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** The latest answers: one per Service probed in the last round, and kube-proxy's own. */
  results(): HealthCheckResults {
    return { healthChecks: this.healthChecks, ...(this.proxyHealth ? { proxyHealth: this.proxyHealth } : {}) };
  }

  status() {
    if (!this.enabled) return { enabled: false };
    return {
      enabled: true,
      intervalMs: this.config.healthCheckIntervalMs,
      address: this.address ?? null,
      rounds: this.rounds,
      lastRoundAt: this.lastRoundAt ?? null,
      services: this.healthChecks.map((h) => ({ service: `${h.service.namespace}/${h.service.name}`, port: h.port, httpStatus: h.httpStatus, localEndpoints: h.localEndpoints, latencyMs: h.latencyMs, at: h.at, ...(h.error ? { error: h.error } : {}) })),
      proxy: this.proxyHealth ?? null,
    };
  }

  /** One round now (a round still under way is not doubled). Exposed for tests. */
  probeRound(): Promise<void> {
    if (!this.running) {
      this.running = this.probeAll().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async probeAll(): Promise<void> {
    const index = this.cluster.current();
    const address = probeAddress(index.nodeAddressesOf(this.config.node), this.cluster.addresses());
    this.address = address;
    const targets = healthCheckTargets(index);
    if (address === undefined) {
      this.warnOnce('no-address', 'no address to probe the health checks on: the Node object lists none on this node\'s interfaces and the interfaces have none; is --node right?');
      this.healthChecks = [];
      this.proxyHealth = undefined;
      return;
    }
    const timeout = this.config.healthCheckTimeoutMs;
    const [services, proxy] = await Promise.all([
      Promise.all(targets.map(async (target): Promise<ServiceHealthCheck> => {
        const at = Date.now();
        const response = await this.http.get(address, target.port, SERVICE_PATH, timeout);
        const read = this.readService(response);
        this.count('service', read.outcome, response.latencyMs);
        return { service: target.service, address, port: target.port, at, latencyMs: round(response.latencyMs), ...read.fields };
      })),
      this.config.proxyHealthzPort > 0 ? this.probeProxy(address, this.config.proxyHealthzPort, timeout) : Promise.resolve(undefined),
    ]);
    this.healthChecks = services;
    this.proxyHealth = proxy;
    this.rounds++;
    this.lastRoundAt = Date.now();
    this.showInMetrics(services);
  }

  private readService(response: ProbeResponse): { outcome: Outcome; fields: Pick<ServiceHealthCheck, 'httpStatus' | 'localEndpoints' | 'error'> } {
    if (response.kind === 'no-answer') return { outcome: 'no-answer', fields: { httpStatus: null, localEndpoints: null, error: response.error.slice(0, 500) } };
    const body = parseServiceHealthBody(response.body);
    const outcome: Outcome = !body.ok ? 'malformed' : response.status === 200 ? 'healthy' : 'unhealthy';
    if (!body.ok) return { outcome, fields: { httpStatus: response.status, localEndpoints: null, error: `HTTP ${response.status}, but ${body.problem}`.slice(0, 500) } };
    return { outcome, fields: { httpStatus: response.status, localEndpoints: body.value.localEndpoints } };
  }

  private async probeProxy(address: string, port: number, timeout: number): Promise<ProxyHealth> {
    const at = Date.now();
    const response = await this.http.get(address, port, PROXY_PATH, timeout);
    const base = { address, port, at, latencyMs: round(response.latencyMs) };
    if (response.kind === 'no-answer') {
      this.count('proxy', 'no-answer', response.latencyMs);
      return { ...base, httpStatus: null, error: response.error.slice(0, 500) };
    }
    const body = parseProxyHealthBody(response.body);
    this.count('proxy', !body.ok ? 'malformed' : response.status === 200 ? 'healthy' : 'unhealthy', response.latencyMs);
    return body.ok ? { ...base, httpStatus: response.status, ...body.value } : { ...base, httpStatus: response.status, error: `HTTP ${response.status}, but ${body.problem}`.slice(0, 500) };
  }

  private count(target: 'service' | 'proxy', outcome: Outcome, latencyMs: number): void {
    this.metrics.healthCheckProbes.inc({ target, outcome });
    this.metrics.healthCheckLatency.observe({ target }, latencyMs / 1000);
  }

  private showInMetrics(services: readonly ServiceHealthCheck[]): void {
    this.metrics.healthCheckStatus.reset();
    this.metrics.healthCheckLocalEndpoints.reset();
    for (const check of services) {
      const labels = { namespace: check.service.namespace, service: check.service.name };
      this.metrics.healthCheckStatus.set(labels, check.httpStatus ?? 0);
      if (check.localEndpoints !== null) this.metrics.healthCheckLocalEndpoints.set(labels, check.localEndpoints);
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(message);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
