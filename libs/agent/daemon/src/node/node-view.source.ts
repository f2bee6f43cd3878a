import type { ClusterIndex, ClusterIndexListener, ClusterMetadataSource, ClusterMetadataStatus } from '@natlens/shared-cluster';
import type { Logger } from 'pino';
import type { InterfaceAddressInfo } from './interface-addresses';

export interface NodeViewOptions {
  readonly node: string;
  /** kube-proxy's nodePortAddresses (CIDRs, `primary`); empty: every local address accepts node ports. */
  readonly nodePortAddresses: readonly string[];
  /** How often the interfaces are read again (a bridge appears with the node's first pod, addresses move). */
  readonly refreshIntervalMs: number;
}

/*
 * The cluster as this node sees it: the metadata source's index with the node's own interface addresses added
 * (ClusterIndex.withLocalNode), so a connection from the node's bridge or loopback is the node's, and a node port
 * reached on any address kube-proxy accepts it on is a NodePort entry. Everything in the agent reads the cluster
 * through this; the view is rebuilt only when the index or the addresses change, so lookups stay memoised.
 */
export class NodeViewSource implements ClusterMetadataSource {
  private interfaceAddresses: readonly InterfaceAddressInfo[] = [];
  private addressesKey = '';
  private view: { index: ClusterIndex; addressesKey: string; view: ClusterIndex } | undefined;
  private readonly listeners = new Set<ClusterIndexListener>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: ClusterMetadataSource,
    private readonly readAddresses: () => InterfaceAddressInfo[],
    private readonly options: NodeViewOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.refreshAddresses();
    this.unsubscribe = this.inner.onChange(() => this.notify());
    this.timer = setInterval(() => {
      if (this.refreshAddresses()) this.notify();
    }, this.options.refreshIntervalMs);
    this.timer.unref();
    await this.inner.start();
  }

  /** The addresses on the node's interfaces, as last read. */
  addresses(): readonly InterfaceAddressInfo[] {
    return this.interfaceAddresses;
  }

  current(): ClusterIndex {
    const index = this.inner.current();
    if (this.view?.index !== index || this.view.addressesKey !== this.addressesKey) {
      const view = index.withLocalNode({ node: this.options.node, addresses: this.interfaceAddresses.map((a) => a.address), nodePortAddresses: this.options.nodePortAddresses });
      this.view = { index, addressesKey: this.addressesKey, view };
    }
    return this.view.view;
  }

  onChange(listener: ClusterIndexListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): ClusterMetadataStatus {
    return this.inner.status();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.inner.stop();
  }

  /** Reads the interfaces; true when the addresses changed. A failed read keeps the last ones. */
  private refreshAddresses(): boolean {
    let addresses: InterfaceAddressInfo[];
    try {
      addresses = this.readAddresses();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read the node\'s interface addresses; keeping the last ones');
      return false;
    }
    const key = addresses.map((a) => `${a.interface}=${a.address}`).sort().join(',');
    if (key === this.addressesKey) return false;
    if (this.addressesKey !== '') this.log.info({ addresses: addresses.map((a) => `${a.interface} ${a.address}`) }, 'the node\'s interface addresses changed');
    this.interfaceAddresses = addresses;
    this.addressesKey = key;
    return true;
  }

  private notify(): void {
    const index = this.current();
    for (const listener of this.listeners) listener(index);
  }
}
