import { type DatabasePool, sql } from 'slonik';
import { type LedgerConfig } from '../config/config';
import { createDatabasePool, endDatabasePool } from '../database/database';
import { ensureDatabase, type RunningEmbeddedPostgres, startEmbeddedPostgres } from '../database/embedded-postgres';
import { DatabaseConnectFailure, migrate } from '../database/migrations';
import { type EventStore } from '../event-store/event-store.port';
import { EventStoreDbEventStore } from '../event-store/eventstoredb-event-store';
import { PostgresEventStore } from '../event-store/postgres-event-store';
import { type ReadinessCheck } from '../health/health.controller';
import { type Logger } from '../logging/logger';
import { messageOf } from '../errors/message-of';
import { StartupRefusal } from './startup-refusal';
import { closeInTurn } from './close-in-turn';

/** The service's outside world: its database, its event store, and how to let go of them. */
export interface Infrastructure {
  readonly databaseUrl: string;
  readonly pool: DatabasePool;
  readonly eventStore: EventStore;
  readonly embedded: RunningEmbeddedPostgres | null;
  readinessChecks(): ReadinessCheck[];
  close(): Promise<void>;
}

const EMBEDDED_DATABASE_NAME = 'ledger';

/** Failures to reach or enter the server of DATABASE_URL, which are the operator's to put right. */
const UNUSABLE_DATABASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification (no pg_hba.conf entry)
  '3D000', // invalid_catalog_name: the database does not exist
  '57P03', // cannot_connect_now: the server is starting or shutting down
]);

/**
 * The first contact with DATABASE_URL's server failed in a way an operator puts right (a server
 * that is not there, a wrong host, password or database): told as a refusal naming the variable,
 * the host and the database, never the password, and without a stack trace. Anything else is
 * thrown as it was.
 */
function unusableDatabase(url: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  // A server that took the connection and then hung up or said nothing (not PostgreSQL, or not
  // answering) fails the connect without a code: that is the URL's to put right too.
  if (!(error instanceof DatabaseConnectFailure) && (typeof code !== 'string' || !UNUSABLE_DATABASE_CODES.has(code))) return error;
  const parsed = new URL(url);
  const where = parsed.protocol === 'socket:' ? parsed.pathname : `${parsed.hostname}:${parsed.port === '' ? '5432' : parsed.port}${parsed.pathname}`;
  return new StartupRefusal(`the PostgreSQL of DATABASE_URL (${where}) cannot be used: ${messageOf(error)}. Check DATABASE_URL, or leave it unset for the embedded PostgreSQL.`);
}

/**
 * Connects to (or, with no DATABASE_URL, starts) PostgreSQL, applies the migrations, and opens
 * the event store: EventStoreDB when EVENTSTORE_CONNECTION_STRING is set, else PostgreSQL.
 */
export async function startInfrastructure(
  config: LedgerConfig,
  logger: Logger,
  options: {
    /** Use the embedded PostgreSQL a running service started, rather than refuse (the CLI). */
    readonly shareEmbedded?: boolean;
    /** Ends a wait for another process's embedded PostgreSQL at once (startEmbeddedPostgres). */
    readonly signal?: AbortSignal;
  } = {},
): Promise<Infrastructure> {
  let embedded: RunningEmbeddedPostgres | null = null;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === null) {
    logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: starting the embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      log: (line) => logger.debug({ postgres: line }),
      // Seen by whoever waits: a CLI logs only warnings unless asked.
      onWait: (message) => logger.warn(message),
      attachToRunning: options.shareEmbedded === true,
      signal: options.signal,
    });
    databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
  }
  try {
    const migrated = await migrate(databaseUrl).catch((error: unknown) => {
      throw config.databaseUrl === null ? error : unusableDatabase(config.databaseUrl, error);
    });
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
    const pool = await createDatabasePool(databaseUrl);
    const eventStore: EventStore =
      config.eventStoreConnectionString === null
        ? new PostgresEventStore(databaseUrl)
        : new EventStoreDbEventStore(config.eventStoreConnectionString);
    logger.info({ eventStore: config.eventStoreConnectionString === null ? 'postgresql' : 'eventstoredb' }, 'event store ready');
    return {
      databaseUrl,
      pool,
      eventStore,
      embedded,
      readinessChecks: () => [
        {
          name: 'database',
          check: async () => ({ ok: (await pool.oneFirst(sql.unsafe`SELECT 1 AS one`)) === 1 }),
        },
        {
          name: 'eventStore',
          check: async () => ({ ok: true, detail: { headPosition: (await eventStore.headPosition())?.toString() ?? null } }),
        },
      ],
      close: () =>
        closeInTurn(
          () => eventStore.close(),
          () => endDatabasePool(pool, (message, fields) => logger.warn(fields, message)),
          () => embedded?.stop(),
        ),
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
