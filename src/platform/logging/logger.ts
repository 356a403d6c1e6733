import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/** Structured JSON logs on stdout. Secrets never go into a log line: pass ids, not values. */
export function createLogger(level: string, name = 'ledger'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: should a secret-looking field slip into a log call, it is masked.
    redact: { paths: ['seed', '*.seed', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'password', '*.password'], censor: '[redacted]' },
  });
}
