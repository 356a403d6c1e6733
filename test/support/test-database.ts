import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type DatabasePool } from 'slonik';
import { createDatabasePool } from '../../src/platform/database/database';
import { migrate } from '../../src/platform/database/migrations';
import { PostgresEventStore, type PostgresEventStoreOptions } from '../../src/platform/event-store/postgres-event-store';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function adminDatabaseUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL;
  if (url === undefined) throw new Error('TEST_ADMIN_DATABASE_URL is not set: run the tests through jest (test/global-setup.ts)');
  return url;
}

/** A fresh database with every migration applied, isolated from the other suites. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `ledger_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  const database: TestDatabase = {
    url: url.toString(),
    name,
    async drop() {
      const client = new Client({ connectionString: adminDatabaseUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
  if (options.migrate !== false) await migrate(database.url);
  return database;
}

/** A suite's own database with a pool on it (useDatabaseWithPool). */
export interface DatabaseWithPool {
  readonly database: TestDatabase;
  readonly pool: DatabasePool;
}

/** A suite's own database, with a pool and a PostgreSQL event store on it (useDatabaseWithStore). */
export interface DatabaseWithStore extends DatabaseWithPool {
  readonly store: PostgresEventStore;
}

/**
 * Registers the suite's beforeAll and afterAll for a fresh migrated database and a pool, and gives
 * them through the object it returns, filled in beforeAll.
 */
export function useDatabaseWithPool(): DatabaseWithPool {
  return useSuiteDatabase(null);
}

/**
 * As useDatabaseWithPool, with an event store polling every 50 ms as well. `storeOptions` replace
 * that `{ pollIntervalMs: 50 }` whole (they are not merged into it), so `{}` gives a store with its
 * own defaults.
 */
export function useDatabaseWithStore(options: { storeOptions?: PostgresEventStoreOptions } = {}): DatabaseWithStore {
  return useSuiteDatabase(options.storeOptions ?? { pollIntervalMs: 50 });
}

/** The hooks of both: the store (when `storeOptions` is given) is closed first, then the pool, then the database dropped. */
function useSuiteDatabase(storeOptions: PostgresEventStoreOptions | null): DatabaseWithStore {
  const context = {} as { database: TestDatabase; pool: DatabasePool; store: PostgresEventStore };
  beforeAll(async () => {
    context.database = await createTestDatabase();
    context.pool = await createDatabasePool(context.database.url);
    if (storeOptions !== null) context.store = new PostgresEventStore(context.database.url, storeOptions);
  });
  afterAll(async () => {
    await context.store?.close();
    await context.pool?.end();
    await context.database?.drop();
  });
  return context;
}
