import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type DatabasePool } from 'slonik';
import { allProjections, Projector } from '../../projections';
import { loadConfig } from '../../src/platform/config/config';
import { createDatabasePool } from '../../src/platform/database/database';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../../src/platform/event-store/postgres-event-store';
import { createHttpApp } from '../../src/platform/http/create-http-app';
import { createLogger } from '../../src/platform/logging/logger';
import { waitForCheckpoint } from '../../src/platform/read-models/checkpoints';
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
  close(): Promise<void>;
}

/** The real HTTP application and projector on a fresh database, listening on 127.0.0.1. */
export async function startTestApp(env: Record<string, string> = {}, options: { eventStore?: EventStore } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', ...env });
  const logger = createLogger(config.logLevel);
  const pool = await createDatabasePool(database.url);
  const store = new PostgresEventStore(database.url, { pollIntervalMs: 100 });
  const projector = new Projector(pool, store, allProjections, { batchSizeMax: config.projector.batchSizeMax });
  projector.start();
  const processEnv = { DATABASE_URL: database.url, ...env };
  const integrations = createIntegrations(config, processEnv);
  const app = await createHttpApp({
    config,
    logger,
    pool,
    eventStore: options.eventStore ?? store,
    readinessChecks: [],
    lifetimeKillsSource: integrations.lifetimeKillsSource,
    yunite: integrations.yunite,
    banano: integrations.banano,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const workers = startWorkers(app, pool, options.eventStore ?? store, integrations, config, processEnv, logger, { autoStart: false });
  const address = app.getHttpServer().address();
  if (typeof address !== 'object' || address === null) throw new Error('The test app is not listening');
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    database,
    pool,
    store,
    app,
    workers,
    async close() {
      await workers.stop();
      await app.close();
      await projector.stop();
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
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
