/*
 * The addresses that health-check this node: connections from outside the cluster to a node address on a Service's
 * healthCheckNodePort or kube-proxy's :10256. Load balancers probe the nodes they deliver to, from the addresses they
 * deliver from (ELB classic, Octavia, the lab's proxies), so a connection from one of these to a node port is the
 * load balancer's (libs/shared/analysis entry.ts). Probes come every few seconds; an address silent for `ttlMs` is
 * forgotten. Bounded: past `maxAddresses` the longest silent is forgotten first. Pure state with the caller's clock.
 */
export interface HealthCheckProberOptions {
  /** Default 10 min: cloud load balancers probe every 5–30 s. */
  ttlMs?: number;
  /** Default 4096. */
  maxAddresses?: number;
}

export class HealthCheckProbers {
  /** Address → last probe; Map order is the order of last probes (re-inserted on each). */
  private readonly lastProbe = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxAddresses: number;

  constructor(options: HealthCheckProberOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 4096;
  }

  get size(): number {
    return this.lastProbe.size;
  }

  saw(address: string, at: number): void {
    this.lastProbe.delete(address);
    this.lastProbe.set(address, at);
    while (this.lastProbe.size > this.maxAddresses) {
      const oldest = this.lastProbe.keys().next();
      if (oldest.done) break;
      this.lastProbe.delete(oldest.value);
    }
  }

  /** Whether `address` probed within the last `ttlMs` before `now`. */
  has(address: string, now: number): boolean {
    const at = this.lastProbe.get(address);
    if (at === undefined) return false;
    if (now - at <= this.ttlMs) return true;
    this.lastProbe.delete(address);
    return false;
  }

  addresses(now: number): string[] {
    return [...this.lastProbe.keys()].filter((address) => this.has(address, now));
  }
}
