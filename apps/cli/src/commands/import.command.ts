import { Command, InvalidArgumentError } from 'commander';

const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
};

const BAR_WIDTH = 30;

/** One line on stderr, redrawn in place on a terminal and printed every 10% otherwise. */
function progressBar(stream: NodeJS.WriteStream): (p: { bytesRead: number; bytesTotal: number; packets: number; connections: number; sent: number }) => void {
  let lastDrawn = 0;
  let lastDecile = -1;
  let lastLine = '';
  return (p) => {
    const fraction = p.bytesTotal === 0 ? 1 : Math.min(1, p.bytesRead / p.bytesTotal);
    const filled = Math.round(fraction * BAR_WIDTH);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${(p.bytesRead / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB  ${p.packets} packets  ${p.connections} connections  ${p.sent} sent`;
    if (stream.isTTY) {
      const now = Date.now();
      if ((now - lastDrawn < 100 && fraction < 1) || line === lastLine) return;
      lastDrawn = now;
      lastLine = line;
      stream.write(`\r${line}\u001b[K`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === lastDecile && (fraction < 1 || line === lastLine)) return;
      lastDecile = decile;
      lastLine = line;
      stream.write(`${line}\n`);
    }
  };
}

export function importCommand(): Command {
  return new Command('import')
    .description('import a capture (pcap, pcapng) or a saved conntrack table (conntrack -L [-o extended|xml]) into the hub as one node\'s records')
    .argument('<file>', 'file.pcap, file.pcapng, or conntrack -L output')
    .requiredOption('--node <name>', 'the node the file was taken on (records are stored under it)')
    .option('--hub <url>', 'http(s)://host:port or unix:/path/to/hub.sock (default NATLENS_HUB or http://127.0.0.1:8470); the token comes from NATLENS_HUB_TOKEN')
    .option('--inventory <file>', 'cluster metadata (kubectl get nodes,pods,services,endpointslices -A -o json) to map records to Services and pods')
    .option('--dry-run', 'decode, correlate and enrich, but send nothing')
    .option('--batch-size <n>', 'records per ingest request', int, 1000)
    .option('--max-dump-bytes <n>', 'stop reading conntrack -L output (text or XML) past this many bytes (default 64 MiB; captures have no limit)', int)
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, flags: { node: string; hub?: string; inventory?: string; dryRun?: boolean; batchSize: number; maxDumpBytes?: number; json?: boolean }) => {
      // The decoders, the correlation and the enrich stage are the agent's (@natlens/agent-records), loaded when used.
      const importer = await import('@natlens/agent-records');
      const url = flags.hub ?? process.env['NATLENS_HUB'] ?? 'http://127.0.0.1:8470';
      const token = process.env['NATLENS_HUB_TOKEN'];
      if (!flags.dryRun && !token) throw new Error('set NATLENS_HUB_TOKEN to an ingest token of the hub (or pass --dry-run)');
      const summary = await importer.importFile({
        file,
        node: flags.node,
        ...(flags.dryRun ? {} : { hub: { url, ...(token ? { token } : {}) } }),
        ...(flags.inventory ? { inventory: flags.inventory } : {}),
        batchSize: flags.batchSize,
        ...(flags.maxDumpBytes !== undefined ? { maxTextBytes: flags.maxDumpBytes } : {}),
        onProgress: progressBar(process.stderr),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const verdicts = Object.entries(summary.byVerdict).map(([v, n]) => `${v} ${n}`).join(', ') || 'none';
      process.stdout.write(
        `${summary.file}: ${summary.format}, ${summary.packets} packets (${summary.malformedPackets} malformed), ${summary.connections} connections, ` +
          `${summary.records} records (${summary.sent} sent to ${flags.dryRun ? 'nowhere: dry run' : url}); verdicts: ${verdicts}\n`,
      );
      for (const error of summary.errors) process.stdout.write(`  malformed at byte ${error.offset}: ${error.message}\n`);
      if (summary.errorCount > summary.errors.length) process.stdout.write(`  … and ${summary.errorCount - summary.errors.length} more\n`);
    });
}
