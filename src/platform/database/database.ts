import {
  createPool,
  createTypeParserPreset,
  type DatabasePool,
  type DriverTypeParser,
  type Interceptor,
  SchemaValidationError,
  sql,
} from 'slonik';
import { z } from 'zod';
import { messageOf } from '../errors/message-of';
import { StartupRefusal } from '../runtime/startup-refusal';
import { isDatabaseUnavailable } from './database-unavailable';

export const DATABASE_POOL = Symbol('DATABASE_POOL');

export interface DatabaseOptions {
  readonly poolSizeMax?: number;
  readonly statementTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
}

/**
 * slonik's default numeric parser goes through parseFloat, which would silently round money.
 * NUMERIC columns come back as strings instead; callers turn them into bigint where they are raw.
 */
const numericAsString: DriverTypeParser = { name: 'numeric', parse: (value: string) => value };

/** Timestamps come back as Date objects rather than slonik's default epoch milliseconds. */
const timestamptzAsDate: DriverTypeParser = { name: 'timestamptz', parse: (value: string) => new Date(value) };

function typeParsers(): readonly DriverTypeParser[] {
  const replaced = new Set(['numeric', 'timestamptz', 'int8']);
  return [
    ...createTypeParserPreset().filter((parser) => !replaced.has(parser.name)),
    numericAsString,
    timestamptzAsDate,
    // bigint columns (positions, revisions, counters) stay exact.
    { name: 'int8', parse: (value: string) => BigInt(value) },
  ];
}

/**
 * Without this interceptor `sql.type(schema)` only types the result at compile time; with it
 * every row is validated (and transformed) by the query's zod schema at run time.
 */
const resultParserInterceptor: Interceptor = {
  name: 'result-parser',
  transformRow: (queryContext, query, row) => {
    const parser = queryContext.resultParser;
    if (parser === undefined) return row;
    const result = parser.safeParse(row);
    if (!result.success) throw new SchemaValidationError(query, row, result.error.issues);
    return result.data as typeof row;
  },
};

export async function createDatabasePool(connectionString: string, options: DatabaseOptions = {}): Promise<DatabasePool> {
  const pool = await createPool(connectionString, {
    typeParsers: typeParsers(),
    interceptors: [resultParserInterceptor],
    maximumPoolSize: options.poolSizeMax ?? 10,
    statementTimeout: options.statementTimeoutMs ?? 30_000,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    idleTimeout: 10_000,
    // Retrying writes is the caller's decision (expected revisions make it safe), not the pool's.
    queryRetryLimit: 0,
    // slonik's default sends DISCARD ALL after every query and transaction: a second round trip
    // for each, the largest cost of a short query (bench P4). Nothing here leaves session state on
    // a pooled connection: settings are transaction-local (set_config(…, true), SET TRANSACTION),
    // no statement is prepared by name, no temporary table is made, and the one session-level
    // advisory lock (withTryAdvisoryLock) is released before the connection goes back.
    resetConnection: async () => undefined,
    transactionRetryLimit: 0,
    captureStackTrace: false,
  });
  // slonik emits a failed query's error (a statement timeout, a terminated backend, a constraint)
  // on the pool before it rethrows it to the caller. With no listener, Node's emit throws it in
  // slonik's place, or "Unhandled error." (ERR_UNHANDLED_ERROR) when it is no Error of Node's own
  // realm (under jest), and the caller never sees which error it was. The caller gets it and
  // decides; nothing more is done here.
  pool.on('error', () => undefined);
  await assertIsoDateStyle(pool);
  return pool;
}

/**
 * Ends the pool, as a process stops. slonik's end waits for each connection's running query and
 * fails with that query's error: a connection the server terminated meanwhile (a failover, a
 * restart, an administrator, or a projection batch left idle past its bound while the process was
 * stopped) fails it with "Backend has been terminated". That connection is gone, which is what
 * ending the pool asked for, so the shutdown goes on; the query's own caller still gets its error.
 * Any other failure is the caller's.
 */
export async function endDatabasePool(pool: DatabasePool, log: (message: string, fields: Record<string, unknown>) => void): Promise<void> {
  try {
    await pool.end();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    log('a database connection was already lost as the pool ended', { error: messageOf(error) });
  }
}

/**
 * Timestamps are read from their text (timestamptzAsDate), which only the ISO DateStyle prints
 * unambiguously: under `SQL, DMY` 2026-12-07 prints as 07/12/2026, which Date reads as July 12,
 * silently moving every time read (each event's, the cap windows' clock) by months. A database,
 * role or PGOPTIONS that sets another style is refused at start. Any TimeZone is fine: ISO
 * output carries the offset.
 */
async function assertIsoDateStyle(pool: DatabasePool): Promise<void> {
  const dateStyle = await pool.oneFirst(
    sql.type(z.object({ date_style: z.string() }))`SELECT current_setting('DateStyle') AS date_style`,
  );
  if (dateStyle.startsWith('ISO')) return;
  await pool.end();
  // A refusal, told in one line at start-up (no stack): the message says what to do.
  throw new StartupRefusal(
    `Cannot use this PostgreSQL database: the database session's DateStyle is ${dateStyle}, ` +
      'not ISO, and timestamps would be misread. Set it back to ISO ' +
      '(ALTER DATABASE … SET DateStyle = ISO, or remove it from the role or PGOPTIONS)',
  );
}
