/*
 * Entry point for the processes the lab starts inside its namespaces (`ip netns exec <ns> node … main.ts <role>
 * <config-json>`). Kept free of heavy imports: dozens of these start at `lab up`.
 */
import pino from 'pino';
import { startEchoServer } from './echo-server';
import { startHealthServer } from './health-server';
import { startLoadBalancer } from './load-balancer';
import { runTraffic } from './traffic-client';

async function main(): Promise<void> {
  const [role, configJson] = process.argv.slice(2);
  const log = pino({ base: { role, pid: process.pid } });
  if (!role || !configJson) throw new Error('usage: main.ts <echo|health|load-balancer|traffic> <config-json>');
  const config = JSON.parse(configJson);
  switch (role) {
    case 'echo':
      return startEchoServer(config, log);
    case 'health':
      return startHealthServer(config, log);
    case 'load-balancer':
      return startLoadBalancer(config, log);
    case 'traffic': {
      const result = await runTraffic(config);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    default:
      throw new Error(`unknown role "${role}"`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 50, msg: err.message, stack: err.stack })}\n`);
  process.exit(1);
});
