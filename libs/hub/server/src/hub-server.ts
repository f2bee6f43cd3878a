import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type ClusterMetadataSource, InventoryFileSource, KubeApiWatcher } from '@natlens/shared-cluster';
import pino, { type Logger } from 'pino';
import { AllExceptionsFilter } from './api/all-exceptions.filter';
import { type HubConfig, type HubFlags, loadHubConfig } from './config/hub-config';
import { HubModule } from './hub.module';
import { HubMetrics } from './metrics/hub-metrics';
import type { FlowRepository } from './storage/flow-repository';
import { openFlowRepository } from './storage/open-flow-repository';
import type { Clock } from './tokens';

export { ConfigError, loadHubConfig, hubConfigSchema } from './config/hub-config';
export type { HubConfig, HubConfigInput, HubFlags } from './config/hub-config';

export interface RunningHub {
  readonly app: NestExpressApplication;
  readonly repository: FlowRepository;
  /** `http(s)://127.0.0.1:<port>` (the real port when config.port was 0; https when the hub serves TLS). */
  readonly url: string;
  readonly port: number;
  readonly socketPath?: string;
  /** Stops the API, the jobs and the metadata source, then closes the store. */
  close(): Promise<void>;
}

export interface StartHubOptions {
  readonly log?: Logger;
  readonly clock?: Clock;
}

/** Where the cluster's metadata comes from, if anywhere: an inventory file, a kubeconfig, or the pod's service account. */
function clusterSource(config: HubConfig, log: Logger): ClusterMetadataSource | null {
  if (config.inventory) return new InventoryFileSource({ file: config.inventory, logger: log });
  // workloads: the remedies name the Deployment, StatefulSet or DaemonSet that runs a Service's pods
  if (config.kubeconfig) return new KubeApiWatcher({ kubeConfig: { kind: 'file', path: config.kubeconfig }, logger: log, workloads: true });
  if (config.inCluster) return new KubeApiWatcher({ kubeConfig: { kind: 'in-cluster' }, logger: log, workloads: true });
  return null;
}

/** Boots the hub: validated config in, store migrated, REST + socket.io on TCP (and REST on a Unix socket) out. */
export async function startHub(config: HubConfig, options: StartHubOptions = {}): Promise<RunningHub> {
  const log = options.log ?? pino({ level: config.logLevel });
  const repository = await openFlowRepository(config.store, { statementTimeoutMs: config.storeStatementTimeoutMs });
  const cluster = clusterSource(config, log);
  let socketServer: Server | undefined;
  try {
    await cluster?.start();
    const app = await NestFactory.create<NestExpressApplication>(
      HubModule.forRoot(config, log, { repository, cluster, clock: options.clock ?? Date.now, metrics: new HubMetrics() }),
      { logger: false, abortOnError: false, bodyParser: false, ...(config.tls ? { httpsOptions: { cert: config.tls.cert, key: config.tls.key } } : {}) },
    );
    // No global body parser: routes that take JSON parse it after their token is checked (api/json-body.ts).
    app.useGlobalFilters(new AllExceptionsFilter(log));
    await app.listen(config.port, config.host);
    const port = (app.getHttpServer().address() as AddressInfo).port;
    if (config.socket) {
      // Lab agents live in network namespaces without a route to the host: they reach the same app over a socket.
      rmSync(config.socket, { force: true });
      socketServer = createServer(app.getHttpAdapter().getInstance());
      const server = socketServer;
      const path = config.socket;
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    }
    log.info({ store: config.store.replace(/\/\/[^@/]*@/, '//***@'), port, tls: Boolean(config.tls), socket: config.socket, cluster: config.inventory ?? config.kubeconfig ?? (config.inCluster ? '(in-cluster)' : '(records only)') }, 'natlens hub running');
    return {
      app,
      repository,
      url: `${config.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      port,
      ...(config.socket ? { socketPath: config.socket } : {}),
      close: async () => {
        if (socketServer) {
          const server = socketServer;
          await new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          if (config.socket) rmSync(config.socket, { force: true });
        }
        await app.close();
        await repository.close();
      },
    };
  } catch (err) {
    socketServer?.close();
    await cluster?.stop().catch(() => undefined);
    await repository.close().catch(() => undefined);
    throw err;
  }
}

/** `natlens hub`: reads flags and environment, refuses to start on bad settings, runs until SIGINT/SIGTERM. */
export async function runHubCommand(flags: HubFlags): Promise<void> {
  const config = loadHubConfig(flags, process.env, (path) => readFileSync(path, 'utf8'));
  const log = pino({ level: config.logLevel });
  const hub = await startHub(config, { log });
  process.stdout.write(`natlens hub: API at ${hub.url}${hub.socketPath ? ` and unix:${hub.socketPath}` : ''} (store ${config.store.replace(/\/\/[^@/]*@/, '//***@')})\n`);
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await hub.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
