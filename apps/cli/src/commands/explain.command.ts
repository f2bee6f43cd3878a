import { Command, InvalidArgumentError } from 'commander';

const millis = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected milliseconds since the epoch');
  return n;
};

export function explainCommand(): Command {
  return new Command('explain')
    .description("what NAT did to a Service's connections: evidence and findings from the hub")
    .argument('<service>', 'namespace/name')
    .option('--hub <url>', 'http(s)://host:port or unix:/path/to/hub.sock (default NATLENS_HUB or http://127.0.0.1:8470)')
    .option('--token-file <file>', 'a hub read or ingest token (or NATLENS_HUB_TOKEN)')
    .option('--from <ms>', 'window start (default: an hour before --to)', millis)
    .option('--to <ms>', 'window end (default: now)', millis)
    .option('--json', 'print the evidence JSON')
    .action(async (service: string, flags: Record<string, unknown>) => {
      const explain = await import('../explain/explain');
      process.stdout.write(await explain.runExplainCommand(service, flags));
    });
}
