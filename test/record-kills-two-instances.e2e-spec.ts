import { randomBytes } from 'node:crypto';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type DatabasePool, sql } from 'slonik';
import { loadConfig } from '../src/platform/config/config';
import { createDatabasePool } from '../src/platform/database/database';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createHttpApp } from '../src/platform/http/create-http-app';
import { createLogger } from '../src/platform/logging/logger';
import { createIntegrations } from '../src/workers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Two instances of the service on one database, each with its own cache of user states, record
 * observations of the same users at once, over both routes, with retries. However they interleave,
 * every kill above the baseline accrues exactly once, at most one accrual per user and minute.
 */
describe('kill observations through two instances at once', () => {
  let first: TestApp;
  let second: { app: NestFastifyApplication; store: PostgresEventStore; pool: DatabasePool; baseUrl: string };
  let discordSequence = 420_000_000_000_000_000n;

  beforeAll(async () => {
    first = await startTestApp();
    const config = loadConfig({ DATABASE_URL: first.database.url, LOG_LEVEL: 'silent', LEDGER_MASTER_KEY: randomBytes(32).toString('base64') });
    const pool = await createDatabasePool(first.database.url);
    const store = new PostgresEventStore(first.database.url, { pollIntervalMs: 100 });
    const integrations = createIntegrations(config, { DATABASE_URL: first.database.url }, pool);
    const app = await createHttpApp({
      config,
      logger: createLogger(config.logLevel),
      pool,
      eventStore: store,
      readinessChecks: [],
      lifetimeKillsSource: integrations.lifetimeKillsSource,
      yunite: integrations.yunite,
      banano: integrations.banano,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    if (typeof address !== 'object' || address === null) throw new Error('not listening');
    second = { app, store, pool, baseUrl: `http://127.0.0.1:${address.port}` };
  });

  afterAll(async () => {
    await second.app.close();
    await second.store.close();
    await second.pool.end();
    await first.close();
  });

  const call = async (baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${first.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('accrues every kill once, whichever instance and route sees it', async () => {
    const users: string[] = [];
    for (let n = 0; n < 4; n += 1) {
      discordSequence += 1n;
      const { body } = await call(first.baseUrl, 'POST', '/v1/users', { discordUserId: discordSequence.toString() });
      const userId = body.userId as string;
      const epicAccountId = (n + 1).toString(16).padStart(32, 'e');
      expect((await call(first.baseUrl, 'PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 1000 })).status).toBe(200);
      users.push(userId);
    }
    // Warm both caches.
    for (const userId of users) {
      for (const baseUrl of [first.baseUrl, second.baseUrl]) {
        expect((await call(baseUrl, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 1000 })).status).toBe(202);
      }
    }
    const base = Date.now() - 30 * 60_000;
    const sends: Array<Promise<unknown>> = [];
    let count = 1000;
    for (let step = 0; step < 60; step += 1) {
      count += 1 + (step % 4);
      const observedAt = new Date(base + step * 20_000).toISOString();
      const lifetimeKills = count;
      for (const [n, userId] of users.entries()) {
        const withTime = step % 3 === 0 ? { observedAt } : {};
        const baseUrl = (step + n) % 2 === 0 ? first.baseUrl : second.baseUrl;
        const other = baseUrl === first.baseUrl ? second.baseUrl : first.baseUrl;
        sends.push(call(baseUrl, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills, ...withTime }));
        // The same observation again, as a client retrying after a lost answer, through the other instance.
        sends.push(call(other, 'POST', '/v1/kills/batch', { observations: [{ userId, lifetimeKills, ...withTime }, { userId: users[(n + 1) % users.length], lifetimeKills: lifetimeKills - 1 }] }));
      }
    }
    const answers = (await Promise.all(sends)) as Array<{ status: number }>;
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    // One last observation of the highest count, a minute ahead of every other, takes every kill deferred.
    const observedAt = new Date(Date.now() + 60_000).toISOString();
    for (const [n, userId] of users.entries()) {
      const last = await call(n % 2 === 0 ? first.baseUrl : second.baseUrl, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: count, observedAt });
      expect(last.status).toBe(202);
    }
    for (const userId of users) {
      const accruals = await first.pool.any(sql.unsafe`
        SELECT (data->>'epochMinute')::bigint AS minute, (data->>'fromKillCount')::int AS from, (data->>'toKillCount')::int AS to, (data->>'kills')::int AS kills
          FROM events WHERE stream_name = ${`user-${userId}`} AND event_type = 'AccrualRecorded' ORDER BY stream_revision`);
      const minutes = accruals.map((row) => Number(row.minute));
      expect(new Set(minutes).size).toBe(minutes.length);
      let at = 1000;
      for (const row of accruals) {
        expect({ from: row.from, kills: row.kills }).toEqual({ from: at, kills: Number(row.to) - at });
        at = Number(row.to);
      }
      expect(at).toBe(count);
      const flags = await first.pool.anyFirst(sql.unsafe`SELECT data->>'flagType' FROM events WHERE stream_name = ${`user-${userId}`} AND event_type = 'AbuseFlagRaised'`);
      expect(flags.filter((flag) => flag !== 'kills_decreased' && flag !== 'kill_rate_spike')).toEqual([]);
    }
  }, 60_000);
});
