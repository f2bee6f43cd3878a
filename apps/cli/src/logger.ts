import pino, { Logger } from 'pino';

let instance: Logger | undefined;

/** Structured logs go to stderr so stdout stays clean for --json output. */
export function logger(): Logger {
  instance ??= pino({ level: process.env['NATLENS_LOG_LEVEL'] ?? 'info' }, pino.destination(2));
  return instance;
}
