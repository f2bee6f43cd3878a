import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { AgentModule, type AgentOverrides } from './agent.module';
import { AgentConfig, AgentFlags, loadAgentConfig } from './config/agent-config';
import { PipelineService } from './pipeline/pipeline.service';
import { AllExceptionsFilter } from './api/all-exceptions.filter';
import { AgentMetrics } from './metrics/agent-metrics';
import { installProcessGuards } from './process-guards';

export { loadAgentConfig, ConfigError } from './config/agent-config';
export type { AgentConfig, AgentFlags } from './config/agent-config';

export interface RunningAgent {
  app: INestApplication;
  pipeline: PipelineService;
  /** Flushes what is aggregated, stops the sources and closes the API. */
  close(): Promise<void>;
}

/** Boots the node agent: validated config in, running pipeline and local API out. */
export async function startAgent(config: AgentConfig, log: Logger = pino({ level: config.logLevel }), overrides: AgentOverrides = {}): Promise<RunningAgent> {
  const app = await NestFactory.create(AgentModule.forRoot(config, log, overrides), { logger: false, abortOnError: false });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.enableShutdownHooks();
  if (config.apiSocket) await app.listen(config.apiSocket);
  else await app.listen(config.apiPort, config.apiHost);
  const pipeline = app.get(PipelineService);
  log.info({ node: config.node, api: config.apiSocket ?? `${config.apiHost}:${config.apiPort}`, hub: config.hub ?? config.bus ?? '(none)' }, 'natlens agent running');
  return {
    app,
    pipeline,
    close: async () => {
      await app.close();
    },
  };
}

/** `natlens agent`: reads flags and environment, refuses to start on bad settings, runs until SIGINT/SIGTERM. */
export async function runAgentCommand(flags: AgentFlags): Promise<void> {
  const config = loadAgentConfig(flags, process.env, (path) => readFileSync(path, 'utf8'));
  const log = pino({ level: config.logLevel });
  // Guarded from the start; counted once the agent's metrics exist.
  const booted: { metrics?: AgentMetrics } = {};
  installProcessGuards(process, log, () => booted.metrics);
  const agent = await startAgent(config, log);
  booted.metrics = agent.app.get(AgentMetrics);
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping: flushing records to the spool');
    await agent.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
