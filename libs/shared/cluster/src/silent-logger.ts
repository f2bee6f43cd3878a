import pino, { type Logger } from 'pino';

/** The logger used when the caller passes none: metadata sources log through pino, never the console. */
export const silentLogger: Logger = pino({ enabled: false });
