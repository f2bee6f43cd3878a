import type { Logger } from 'pino';

let instance: Logger | undefined;

/**
 * Structured logs go to stderr so stdout stays clean for --json output. pino is loaded on the first log, not by
 * `natlens --help`.
 */
export function logger(): Logger {
  // A synchronous, lazy load.
  const pino = require('pino') as typeof import('pino');
  instance ??= pino.default({ level: process.env['NATLENS_LOG_LEVEL'] ?? 'info' }, pino.destination(2));
  return instance;
}
