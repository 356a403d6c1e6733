import { type DatabasePool, sql } from 'slonik';
import { type LedgerConfig } from '../config/config';
import { createDatabasePool } from '../database/database';
import { ensureDatabase, type RunningEmbeddedPostgres, startEmbeddedPostgres } from '../database/embedded-postgres';
import { migrate } from '../database/migrations';
import { type EventStore } from '../event-store/event-store.port';
import { EventStoreDbEventStore } from '../event-store/eventstoredb-event-store';
import { PostgresEventStore } from '../event-store/postgres-event-store';
import { type ReadinessCheck } from '../health/health.controller';
import { type Logger } from '../logging/logger';

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
  } = {},
): Promise<Infrastructure> {
  let embedded: RunningEmbeddedPostgres | null = null;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === null) {
    logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: starting the embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      log: (line) => logger.debug({ postgres: line }),
      attachToRunning: options.shareEmbedded === true,
    });
    databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
  }
  try {
    const migrated = await migrate(databaseUrl);
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
      async close() {
        await eventStore.close();
        await pool.end();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
