/*
 * Runs inside a throwaway network namespace for conntrack-stats-reader.spec.ts (ctnetlink answers for the namespace
 * of the socket): reads the conntrack statistics once and prints them as one JSON line.
 */
import { ConntrackStatsReader } from '../conntrack-stats-reader';

async function main(): Promise<void> {
  const reader = new ConntrackStatsReader();
  reader.open();
  try {
    const reading = await reader.read();
    process.stdout.write(`${JSON.stringify({ ...reading, parseErrors: reading.parseErrors.map((e) => e.message) })}\n`);
  } finally {
    reader.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
