import { randomBytes } from 'node:crypto';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type DestinationStream } from 'pino';
import { type DatabasePool } from 'slonik';
import { allProjections, Projector } from '../../projections';
import { loadConfig } from '../../src/platform/config/config';
import { createDatabasePool } from '../../src/platform/database/database';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../../src/platform/event-store/postgres-event-store';
import { type ReadinessCheck } from '../../src/platform/health/health.controller';
import { createHttpApp } from '../../src/platform/http/create-http-app';
import { createLogger } from '../../src/platform/logging/logger';
import { waitForCheckpoint } from '../../src/platform/read-models/checkpoints';
import { API_KEY_SCOPES, ApiKeys } from '../../src/security/api-keys';
import { trialBalance, unbalancedEntries } from '../../src/treasury/journal/journal-balances';
import { createIntegrations, startWorkers, type Workers } from '../../src/workers';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  readonly baseUrl: string;
  readonly database: TestDatabase;
  readonly pool: DatabasePool;
  readonly store: PostgresEventStore;
  readonly app: NestFastifyApplication;
  /** The stats poller and Yunite re-verification, built when configured but not started. */
  readonly workers: Workers;
  /** A live key with every scope, named `test-all`, which `call` sends unless told otherwise. */
  readonly apiKey: string;
  /** The workers of another instance of the service on the same database, built but not started; the caller stops them. */
  otherInstanceWorkers(): Workers;
  close(): Promise<void>;
}

/**
 * The real HTTP application and projector on a fresh database, listening on 127.0.0.1.
 *
 * `close()` checks the books first: once the read models hold every event, the journal's trial
 * balance must be 0 and every entry balanced (SPEC §4.5), whatever the scenario did. A test whose
 * event store or projector is broken on purpose passes `checkBooks: false`.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { eventStore?: EventStore; checkBooks?: boolean; logDestination?: DestinationStream; readinessChecks?: readonly ReadinessCheck[]; statementTimeoutMs?: number } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  // Every app gets its own master key, made now and never written down; `LEDGER_MASTER_KEY: ''`
  // in `env` starts one without a key.
  const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', LEDGER_MASTER_KEY: randomBytes(32).toString('base64'), ...env });
  const logger = createLogger(config.logLevel, { destination: options.logDestination });
  const pool = await createDatabasePool(database.url, { statementTimeoutMs: options.statementTimeoutMs });
  const store = new PostgresEventStore(database.url, { pollIntervalMs: 100, statementTimeoutMs: options.statementTimeoutMs });
  const projector = new Projector(pool, store, allProjections, { batchSizeMax: config.projector.batchSizeMax });
  projector.start();
  const processEnv = { DATABASE_URL: database.url, ...env };
  const integrations = createIntegrations(config, processEnv, pool);
  const app = await createHttpApp({
    config,
    logger,
    pool,
    eventStore: options.eventStore ?? store,
    readinessChecks: options.readinessChecks ?? [],
    lifetimeKillsSource: integrations.lifetimeKillsSource,
    yunite: integrations.yunite,
    banano: integrations.banano,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const workers = startWorkers(app, pool, integrations, config, processEnv, logger, { autoStart: false });
  const address = app.getHttpServer().address();
  if (typeof address !== 'object' || address === null) throw new Error('The test app is not listening');
  const { key: apiKey } = await new ApiKeys(pool).create({ name: 'test-all', scopes: API_KEY_SCOPES });
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    database,
    pool,
    store,
    app,
    workers,
    apiKey,
    otherInstanceWorkers: () => startWorkers(app, pool, createIntegrations(config, processEnv, pool), config, processEnv, logger, { autoStart: false }),
    async close() {
      await workers.stop();
      // Checked before anything is stopped, reported after everything is: a failing check leaks nothing.
      const unbalanced = options.checkBooks === false ? null : await booksProblem(pool, store, projector);
      await app.close();
      await projector.stop();
      await store.close();
      await pool.end();
      await database.drop();
      if (unbalanced !== null) throw new Error(unbalanced);
    },
  };
}

/** Why the books do not balance once the journal has applied every event stored; null when they do. */
async function booksProblem(pool: DatabasePool, store: PostgresEventStore, projector: Projector): Promise<string | null> {
  try {
    const head = await store.headPosition();
    if (head !== null && !(await waitForCheckpoint(pool, 'journal', head, 15_000))) {
      return `the journal did not reach position ${head.toString()}: ${JSON.stringify(projector.status(), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`;
    }
    const [balance, unbalanced] = await Promise.all([trialBalance(pool), unbalancedEntries(pool)]);
    if (balance === 0n && unbalanced.length === 0) return null;
    return `the journal does not balance: trial balance ${balance.toString()} raw, unbalanced entries [${unbalanced.join(', ')}]`;
  } catch (error) {
    return `the books could not be checked: ${error instanceof Error ? error.message : String(error)}`;
  }
}
/** Waits until every read model has applied everything stored so far (tests that plan from them). */
export async function synced(app: TestApp, timeoutMs = 15_000): Promise<void> {
  const head = await app.store.headPosition();
  if (head === null) return;
  for (const projection of allProjections) {
    if (!(await waitForCheckpoint(app.pool, projection.name, head, timeoutMs))) {
      throw new Error(`${projection.name} did not reach position ${head.toString()} within ${timeoutMs} ms`);
    }
  }
}
