import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabasePool, sql } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { ApiKeys } from '../src/security/api-keys';
import { startService, waitForExit } from './support/processes';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const EPIC = 'c0ffee00c0ffee00c0ffee00c0ffee00';

// The service is SIGKILLed between an Epic link's claim and its append (LEDGER_FAILPOINTS). The
// claim is left with no link behind it: the user it was made for can still link the id, others
// are refused while it could be a link in flight, and once it is stale another user can link it.
describe('the service killed between an Epic link claim and its append', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let dataDir: string;
  let key: string;
  const masterKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-epic-crash-'));
    ({ key } = await new ApiKeys(pool).create({ name: 'epic-crash', scopes: ['commands:write', 'queries:read'] }));
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function service(failpoints: string): Promise<{
    call: (method: string, path: string, body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;
    exited: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    stop: () => Promise<void>;
  }> {
    const started = await startService(
      { DATABASE_URL: database.url, LEDGER_DATA_DIR: dataDir, LEDGER_MASTER_KEY: masterKey, SETTLEMENT_INTERVAL_SECONDS: '0', LEDGER_FAILPOINTS: failpoints },
      60_000,
    );
    return {
      call: async (method, path, body) => {
        const response = await fetch(`${started.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      },
      exited: () => waitForExit(started.child),
      stop: async () => {
        await started.stop('SIGTERM');
      },
    };
  }

  const claimHolder = (): Promise<unknown> => pool.maybeOneFirst(sql.unsafe`SELECT user_id FROM epic_account_claims WHERE epic_account_id = ${EPIC}`);
  const linkEvents = async (userId: string): Promise<number> =>
    Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events WHERE stream_name = ${`user-${userId}`} AND event_type = 'EpicAccountLinked'`));

  it('leaves a claim that others cannot take while it may be a link in flight, and can once it is stale', async () => {
    const doomed = await service('epic-account-claimed');
    const holder = (await doomed.call('POST', '/v1/users', { discordUserId: '700000000000000001' })).body.userId as string;
    const other = (await doomed.call('POST', '/v1/users', { discordUserId: '700000000000000002' })).body.userId as string;
    await expect(doomed.call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: EPIC, lifetimeKills: 10 })).rejects.toThrow('fetch failed');
    expect(await doomed.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await claimHolder()).toBe(holder);
    expect(await linkEvents(holder)).toBe(0);

    const restarted = await service('');
    try {
      expect(await restarted.call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId: EPIC, lifetimeKills: 10 })).toMatchObject({
        status: 409,
        body: { code: 'epic_account_already_linked' },
      });
      await pool.query(sql.unsafe`UPDATE epic_account_claims SET claimed_at = now() - interval '11 minutes' WHERE epic_account_id = ${EPIC}`);
      expect(await restarted.call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId: EPIC, lifetimeKills: 12 })).toMatchObject({
        status: 200,
        body: { epicAccountId: EPIC, baselineKills: 12 },
      });
      expect(await claimHolder()).toBe(other);
      expect(await restarted.call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: EPIC, lifetimeKills: 10 })).toMatchObject({
        status: 409,
        body: { code: 'epic_account_already_linked' },
      });
      expect([await linkEvents(holder), await linkEvents(other)]).toEqual([0, 1]);
    } finally {
      await restarted.stop();
    }
  });

  it('killed after a new link\'s append, before the old id is freed: the next user of the old id starts from what the holder accrued of it', async () => {
    const oldEpic = 'c0ffee00c0ffee00c0ffee00c0ffee02';
    // The second link passes the point: the holder's link of another account.
    const doomed = await service('epic-account-linked@2');
    const holder = (await doomed.call('POST', '/v1/users', { discordUserId: '700000000000000004' })).body.userId as string;
    const other = (await doomed.call('POST', '/v1/users', { discordUserId: '700000000000000005' })).body.userId as string;
    expect((await doomed.call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: oldEpic, lifetimeKills: 10 })).status).toBe(200);
    expect((await doomed.call('POST', `/v1/users/${holder}/kills`, { lifetimeKills: 70 })).body).toMatchObject({ accrual: { kills: 60 } });
    await expect(doomed.call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: 'c0ffee00c0ffee00c0ffee00c0ffee03', lifetimeKills: 0 })).rejects.toThrow('fetch failed');
    expect(await doomed.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await linkEvents(holder)).toBe(2);
    expect(await pool.maybeOneFirst(sql.unsafe`SELECT user_id FROM epic_account_claims WHERE epic_account_id = ${oldEpic}`)).toBe(holder);

    const restarted = await service('');
    try {
      await pool.query(sql.unsafe`UPDATE epic_account_claims SET claimed_at = now() - interval '11 minutes' WHERE epic_account_id = ${oldEpic}`);
      // A stale count: the holder accrued the account up to 70.
      expect(await restarted.call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId: oldEpic, lifetimeKills: 40 })).toMatchObject({
        status: 200,
        body: { epicAccountId: oldEpic, baselineKills: 70 },
      });
      expect((await restarted.call('POST', `/v1/users/${other}/kills`, { lifetimeKills: 75 })).body).toMatchObject({ accrual: { kills: 5, fromKillCount: 70 } });
    } finally {
      await restarted.stop();
    }
  });

  it('lets the user whose link was cut off link the id after the restart', async () => {
    const epicAccountId = 'c0ffee00c0ffee00c0ffee00c0ffee01';
    const doomed = await service('epic-account-claimed');
    const userId = (await doomed.call('POST', '/v1/users', { discordUserId: '700000000000000003' })).body.userId as string;
    await expect(doomed.call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 3 })).rejects.toThrow('fetch failed');
    expect(await doomed.exited()).toEqual({ code: null, signal: 'SIGKILL' });

    const restarted = await service('');
    try {
      expect(await restarted.call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 3 })).toMatchObject({ status: 200, body: { epicAccountId, baselineKills: 3 } });
      expect(await linkEvents(userId)).toBe(1);
    } finally {
      await restarted.stop();
    }
  });
});
