import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';
import { type LedgerConfig } from '../config/config';

export type { Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/** `json` lines, `pretty` human-readable lines, or `auto`: pretty on a terminal outside production. */
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  readonly name?: string;
  readonly format?: LogFormat;
  readonly production?: boolean;
  /** Where the lines go (stdout when absent); a test passes a stream to read them. */
  readonly destination?: DestinationStream;
}

/** What every log line written inside a request or a worker's command carries. */
interface LogContext {
  readonly correlationId: string;
}

const logContext = new AsyncLocalStorage<LogContext>();

/**
 * Runs `work` with `correlationId` on every log line written inside it, however deep: the same id
 * the events it appends carry in their metadata (the request id of an HTTP request, the one a
 * worker made for its command), so a log line and the events of one request can be joined.
 */
export function withCorrelationId<T>(correlationId: string, work: () => T): T {
  return logContext.run({ correlationId }, work);
}

/** The logger of a service process, as its configuration says (LOG_LEVEL, LOG_FORMAT, NODE_ENV). */
export function serviceLogger(config: LedgerConfig): Logger {
  return createLogger(config.logLevel, { format: config.logFormat, production: config.secureConfig.production });
}

/** Structured JSON logs on stdout (pretty in development). Secrets never go into a log line: pass ids, not values. */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true && options.production !== true);
  const settings: pino.LoggerOptions = {
    name: options.name ?? 'ledger',
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => {
      const context = logContext.getStore();
      return context === undefined ? {} : { correlationId: context.correlationId };
    },
    // Belt and braces: should a secret-looking field slip into a log call, it is masked.
    redact: { paths: ['seed', '*.seed', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'password', '*.password'], censor: '[redacted]' },
  };
  if (options.destination !== undefined) return pino(settings, options.destination);
  // pino-pretty formats in a worker thread, so the service's own thread never waits on it.
  if (pretty) return pino(settings, pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }));
  return pino(settings);
}
