import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { LinkEpicAccountCommand } from '../src/identity/link-epic-account/link-epic-account.command';
import { LinkEpicAccountHandler } from '../src/identity/link-epic-account/link-epic-account.handler';
import { userIdFromDiscordId } from '../src/identity/user/user.stream';
import { RateFactorsSource } from '../src/rewards/economics/rate-factors.source';
import { type Workers } from '../src/workers';
import { type FortniteStatsDouble, startFortniteStatsDouble } from './doubles/fortnite-stats.double';
import { startYuniteDouble, type YuniteDouble } from './doubles/yunite.double';
import { openTransaction } from './support/open-transaction';
import { startTestApp, synced, type TestApp } from './support/test-app';

const GUILD = '900000000000000001';

/**
 * The pool, with the first `query` whose SQL matches `match` held until `open()`, on the pool or on
 * a connection taken from it: a handler paused at that statement, to let another command run.
 */
function gatedStatement(pool: DatabasePool, match: RegExp): { pool: DatabasePool; reached: Promise<void>; open: () => void } {
  let open!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let held = false;
  type Method = (...args: unknown[]) => unknown;
  const gatingQueries = <T extends object>(target: T, wrapConnect: boolean): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'query') {
          return async (query: { sql: string }, ...rest: unknown[]) => {
            if (!held && match.test(query.sql)) {
              held = true;
              reach();
              await opened;
            }
            return (value as Method).call(object, query, ...rest);
          };
        }
        if (property === 'connect' && wrapConnect) {
          return (handler: (connection: object) => Promise<unknown>) => (value as Method).call(object, (connection: object) => handler(gatingQueries(connection, false)));
        }
        return (value as Method).bind(object);
      },
    });
  return { pool: gatingQueries(pool, true), reached, open };
}
const YUNITE_KEY = 'test-yunite-key';

describe('the Fortnite stats API and Yunite, through their test doubles', () => {
  let stats: FortniteStatsDouble;
  let yunite: YuniteDouble;
  let app: TestApp;
  let discordSequence = 800_000_000_000_000_000n;
  let epicSequence = 0;

  beforeAll(async () => {
    stats = await startFortniteStatsDouble();
    yunite = await startYuniteDouble({ apiKey: YUNITE_KEY, guildId: GUILD });
    app = await startTestApp({
      FORTNITE_STATS_BASE_URL: stats.baseUrl,
      FORTNITE_STATS_API_KEY: stats.apiKey,
      FORTNITE_STATS_TIMEOUT_MS: '1000',
      STATS_POLL_CALLS_PER_MINUTE: '600',
      YUNITE_BASE_URL: yunite.baseUrl,
      YUNITE_API_KEY: YUNITE_KEY,
      YUNITE_GUILD_ID: GUILD,
      YUNITE_TIMEOUT_MS: '1000',
    });
  });

  afterAll(async () => {
    await app.close();
    await stats.close();
    await yunite.close();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: body === undefined ? { authorization: `Bearer ${app.apiKey}` } : { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const eventCount = async (): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));
  const newEpicId = (): string => {
    epicSequence += 1;
    return epicSequence.toString(16).padStart(32, 'b');
  };
  async function newUser(): Promise<{ userId: string; discordUserId: string }> {
    discordSequence += 1n;
    const discordUserId = discordSequence.toString();
    const { body } = await call('POST', '/v1/users', { discordUserId });
    return { userId: body.userId as string, discordUserId };
  }

  describe('Epic link baseline from the stats API', () => {
    it('reads the baseline when lifetimeKills is not given', async () => {
      const { userId } = await newUser();
      const epicAccountId = newEpicId();
      stats.setKills(epicAccountId, 4_242);
      const linked = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId });
      expect(linked).toMatchObject({ status: 200, body: { epicAccountId, baselineKills: 4_242 } });
    });

    it.each([
      ['the API failing', () => stats.failNext('500'), 503, 'stats_unavailable'],
      ['the API timing out', () => stats.failNext('timeout'), 503, 'stats_unavailable'],
      ['the API dropping the connection', () => stats.failNext('drop'), 503, 'stats_unavailable'],
      ['the API rate-limiting', () => stats.failNext('429'), 503, 'stats_rate_limited'],
      [
        'a count the API answers for another account',
        (id: string) => {
          stats.setKills(id, 500);
          stats.setAnsweredAccount(id, { id: 'c'.repeat(32), name: 'someone-else' });
        },
        503,
        'stats_unavailable',
      ],
      [
        'a count the API answers naming no account',
        (id: string) => {
          stats.setKills(id, 500);
          stats.setAnsweredAccount(id, undefined);
        },
        503,
        'stats_unavailable',
      ],
      ['an account the API does not know', () => undefined, 422, 'epic_account_not_found'],
      ['an account with private stats', (id: string) => stats.setPrivate(id), 422, 'stats_private'],
    ] as Array<[string, (epicAccountId: string) => void, number, string]>)('refuses the link, never assuming 0, on %s', async (_case, arrange, status, code) => {
      const { userId } = await newUser();
      const epicAccountId = newEpicId();
      arrange(epicAccountId);
      const before = await eventCount();

      const refused = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId });

      expect({ status: refused.status, code: refused.body.code }).toEqual({ status, code });
      expect(await eventCount()).toBe(before);
      // The id stays free: another user can link it.
      const other = await newUser();
      expect((await call('PUT', `/v1/users/${other.userId}/epic-account`, { epicAccountId, lifetimeKills: 1 })).status).toBe(200);
    });
  });

  describe('POST /v1/users/:userId/verify with Yunite', () => {
    it('records no_epic_link for a Discord user with no Epic link', async () => {
      const { userId, discordUserId } = await newUser();
      yunite.unlink(discordUserId);
      const verified = await call('POST', `/v1/users/${userId}/verify`);
      expect(verified).toMatchObject({ status: 200, body: { userId, source: 'yunite', status: 'no_epic_link', epicAccountId: null } });
    });

    it('makes a user payable again when the trusted integration links the same Epic account after Yunite said no link', async () => {
      const { userId, discordUserId } = await newUser();
      const epicAccountId = newEpicId();
      expect((await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 40 })).status).toBe(200);
      yunite.unlink(discordUserId);
      expect((await call('POST', `/v1/users/${userId}/verify`)).body).toMatchObject({ status: 'no_epic_link' });

      const again = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 90 });
      const user = await call('GET', `/v1/users/${userId}?minPosition=${again.body.position as string}`);

      // Nothing is linked again: the baseline stays 40. The integration's word makes it ok.
      expect(again.body).toMatchObject({ epicAccountId, baselineKills: 40 });
      expect(user.body).toMatchObject({ epicAccountId, verificationStatus: 'ok' });
    });

    it('links the Epic account Yunite knows with the stats baseline, then notices a change', async () => {
      const { userId, discordUserId } = await newUser();
      const first = newEpicId();
      const second = newEpicId();
      stats.setKills(first, 300);
      stats.setKills(second, 12);
      yunite.link(discordUserId, first, 'Player One');

      const ok = await call('POST', `/v1/users/${userId}/verify`);
      yunite.link(discordUserId, second);
      const changed = await call('POST', `/v1/users/${userId}/verify`);
      const again = await call('POST', `/v1/users/${userId}/verify`);
      const user = await call('GET', `/v1/users/${userId}?minPosition=${again.body.position as string}`);

      expect(ok.body).toMatchObject({ status: 'ok', epicAccountId: first });
      expect(changed.body).toMatchObject({ status: 'epic_changed', epicAccountId: second, detail: `was ${first}` });
      expect(again.body).toMatchObject({ status: 'ok', epicAccountId: second });
      expect(user.body).toMatchObject({ epicAccountId: second, verificationStatus: 'ok' });
      const history = await call('GET', `/v1/users/${userId}/history`);
      const links = (history.body.items as Array<{ type: string; data: { baselineKills?: number } }>).filter((item) => item.type === 'EpicAccountLinked');
      expect(links.map((item) => item.data.baselineKills)).toEqual([300, 12]);
    });

    it('links an account another user let go of from no lower than that user accrued of it, whatever the stats API says', async () => {
      const [holder, next] = [await newUser(), await newUser()];
      const passed = newEpicId();
      stats.setKills(passed, 300);
      yunite.link(holder.discordUserId, passed);
      expect((await call('POST', `/v1/users/${holder.userId}/verify`)).body).toMatchObject({ status: 'ok', epicAccountId: passed });
      expect((await call('POST', `/v1/users/${holder.userId}/kills`, { lifetimeKills: 340 })).body).toMatchObject({ accrual: { kills: 40 } });
      const replacement = newEpicId();
      stats.setKills(replacement, 0);
      yunite.link(holder.discordUserId, replacement);
      expect((await call('POST', `/v1/users/${holder.userId}/verify`)).body).toMatchObject({ status: 'epic_changed', epicAccountId: replacement });

      // The stats API answers a stale 320 for the account the holder accrued up to 340.
      stats.setKills(passed, 320);
      yunite.link(next.discordUserId, passed);
      const verified = await call('POST', `/v1/users/${next.userId}/verify`);
      const kills = await call('POST', `/v1/users/${next.userId}/kills`, { lifetimeKills: 345 });

      expect(verified.body).toMatchObject({ status: 'ok', epicAccountId: passed });
      expect(kills.body).toMatchObject({ accrual: { kills: 5, fromKillCount: 340, toKillCount: 345 } });
    });

    it('records error and links nothing when the new account’s baseline cannot be read', async () => {
      const { userId, discordUserId } = await newUser();
      const epicAccountId = newEpicId();
      stats.setKills(epicAccountId, 5);
      yunite.link(discordUserId, epicAccountId);
      stats.failNext('500');

      const failed = await call('POST', `/v1/users/${userId}/verify`);
      const user = await call('GET', `/v1/users/${userId}?minPosition=${failed.body.position as string}`);

      expect(failed.body).toMatchObject({ status: 'error', epicAccountId, detail: 'stats_unavailable' });
      expect(user.body).toMatchObject({ epicAccountId: null, verificationStatus: 'error' });
      // With the stats back, verifying again links it.
      expect((await call('POST', `/v1/users/${userId}/verify`)).body).toMatchObject({ status: 'ok', epicAccountId });
    });

    it.each([
      ['Yunite failing', '500', 'yunite_unavailable'],
      ['Yunite timing out', 'timeout', 'yunite_unavailable'],
      ['Yunite rate-limiting', '429', 'yunite_rate_limited'],
      ['Yunite answering garbage', 'malformed', 'yunite_unavailable'],
    ] as const)('answers 503 and records nothing on %s', async (_case, mode, code) => {
      const { userId, discordUserId } = await newUser();
      yunite.link(discordUserId, newEpicId());
      yunite.failNext(mode);
      const before = await eventCount();

      const refused = await call('POST', `/v1/users/${userId}/verify`);

      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 503, code });
      expect(await eventCount()).toBe(before);
    });

    it('runs one link of a user at a time: a verification during a PUT waits, and the id it links stays claimed', async () => {
      const u = await newUser();
      const x = newEpicId();
      const y = newEpicId();
      stats.setKills(y, 50);
      yunite.link(u.discordUserId, y);
      // A PUT of X for the user, held after its append, just before it frees the user's other claims.
      const gate = gatedStatement(app.pool, /DELETE FROM epic_account_claims WHERE user_id = .* AND epic_account_id <>/);
      const metadata = { correlationId: randomUUID(), causationId: null, actor: { kind: 'integration' as const, name: 'test' } };
      const put = new LinkEpicAccountHandler(app.store, gate.pool, null, app.app.get(RateFactorsSource)).execute(new LinkEpicAccountCommand(u.userId, x, 10n, metadata));
      await gate.reached;
      // Meanwhile the user is verified, and Yunite knows another account, Y.
      const verifying = call('POST', `/v1/users/${u.userId}/verify`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      gate.open();
      await put;
      const verified = await verifying;

      expect(verified.body).toMatchObject({ status: 'epic_changed', epicAccountId: y });
      const claims = await app.pool.anyFirst(sql.unsafe`SELECT epic_account_id FROM epic_account_claims WHERE user_id = ${u.userId}`);
      expect(claims).toEqual([y]);
      // So Y cannot be linked to anyone else (SPEC §4.1).
      const v = await newUser();
      const second = await call('PUT', `/v1/users/${v.userId}/epic-account`, { epicAccountId: y, lifetimeKills: 50 });
      expect({ status: second.status, code: second.body.code }).toEqual({ status: 409, code: 'epic_account_already_linked' });
    });

    it('refuses a body other than none or {} on verify and the admin reverify, without asking Yunite or appending; {} verifies', async () => {
      const { userId, discordUserId } = await newUser();
      const epicAccountId = newEpicId();
      stats.setKills(epicAccountId, 7);
      yunite.link(discordUserId, epicAccountId);
      const asked = yunite.requests().length;
      const before = await eventCount();
      const refusals: string[] = [];
      for (const path of [`/v1/users/${userId}/verify`, `/v1/admin/users/${userId}/reverify`]) {
        for (const body of [{ force: true }, { reason: 'relinked' }, [1], 123]) {
          const refused = await call('POST', path, body);
          refusals.push(`${path} ${JSON.stringify(body)}: ${refused.status} ${String(refused.body.code)}`);
        }
      }

      expect(refusals).toEqual([
        `/v1/users/${userId}/verify {"force":true}: 422 unknown_property`,
        `/v1/users/${userId}/verify {"reason":"relinked"}: 422 unknown_property`,
        `/v1/users/${userId}/verify [1]: 422 invalid_request_body`,
        `/v1/users/${userId}/verify 123: 422 invalid_request_body`,
        `/v1/admin/users/${userId}/reverify {"force":true}: 422 unknown_property`,
        `/v1/admin/users/${userId}/reverify {"reason":"relinked"}: 422 unknown_property`,
        `/v1/admin/users/${userId}/reverify [1]: 422 invalid_request_body`,
        `/v1/admin/users/${userId}/reverify 123: 422 invalid_request_body`,
      ]);
      expect(await eventCount()).toBe(before);
      expect(yunite.requests()).toHaveLength(asked);
      expect(await call('POST', `/v1/users/${userId}/verify`, {})).toMatchObject({ status: 200, body: { userId, status: 'ok', epicAccountId } });
      expect(await call('POST', `/v1/admin/users/${userId}/reverify`, {})).toMatchObject({ status: 200, body: { userId, status: 'ok', epicAccountId } });
    });

    it('answers 404 user_not_found for an unregistered user, without asking Yunite', async () => {
      const asked = yunite.requests().length;
      const refused = await call('POST', `/v1/users/${userIdFromDiscordId('899999999999999999')}/verify`);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 404, code: 'user_not_found' });
      expect(yunite.requests()).toHaveLength(asked);
    });
  });

  describe('workers', () => {
    it('the stats poller records observations through the kills command, so accruals follow', async () => {
      const { userId } = await newUser();
      const epicAccountId = newEpicId();
      await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 100 });
      stats.setKills(epicAccountId, 125);
      await synced(app);

      const poller = app.workers.statsPoller;
      expect(poller).not.toBeNull();
      const run = await poller?.runOnce();
      const accruals = await call('GET', `/v1/users/${userId}/accruals?minPosition=${(await app.store.headPosition())?.toString() ?? '0'}`);

      expect(run?.recorded).toBeGreaterThanOrEqual(1);
      expect(accruals.body.items).toMatchObject([{ kills: 25, fromKillCount: 100, toKillCount: 125, amountBan: '2.50000000' }]);
      const history = await call('GET', `/v1/users/${userId}/history`);
      const observed = (history.body.items as Array<{ type: string; actor: { kind: string; name: string } }>).find((item) => item.type === 'KillsObserved');
      expect(observed?.actor).toEqual({ kind: 'system', name: 'stats-poller' });
    });

    it('the stats poller never records the count of an account the user no longer links, however late its list', async () => {
      const { userId } = await newUser();
      const x = newEpicId();
      const y = newEpicId();
      await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: x, lifetimeKills: 100 });
      await synced(app);
      // The users read model stops while the link moves to Y: the poller still lists the user with X.
      const frozen = await openTransaction(app.database.url);
      await frozen.client.query(`SELECT 1 FROM projection_checkpoints WHERE projection_name = 'users' FOR UPDATE`);
      await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: y, lifetimeKills: 700 });
      stats.setKills(x, 1_000);
      stats.setKills(y, 710);
      await app.workers.statsPoller?.runOnce();
      const whileStale = (await app.store.readStream(`user-${userId}`)).map((event) => event.type);
      await frozen.end('ROLLBACK');
      await synced(app);
      await app.workers.statsPoller?.runOnce();
      const accruals = await call('GET', `/v1/users/${userId}/accruals?minPosition=${(await app.store.headPosition())?.toString() ?? '0'}`);

      expect(whileStale.filter((type) => type === 'KillsObserved' || type === 'AccrualRecorded' || type === 'AbuseFlagRaised')).toEqual([]);
      expect(accruals.body.items).toMatchObject([{ kills: 10, fromKillCount: 700, toKillCount: 710 }]);
    });

    it('the re-verification records what Yunite says now for linked users', async () => {
      const { userId, discordUserId } = await newUser();
      const epicAccountId = newEpicId();
      await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 1 });
      yunite.unlink(discordUserId);
      await synced(app);

      const scheduler = app.workers.reverification;
      expect(scheduler).not.toBeNull();
      // It walks a bounded number of users per run, so run until this user's turn has come.
      for (let run = 0; run < 5; run += 1) await scheduler?.runOnce();
      const user = await call('GET', `/v1/users/${userId}?minPosition=${(await app.store.headPosition())?.toString() ?? '0'}`);

      expect(user.body).toMatchObject({ epicAccountId, verificationStatus: 'no_epic_link' });
    });

    it('run in one instance at a time: another instance asks nobody until the first one stops', async () => {
      await call('PUT', `/v1/users/${(await newUser()).userId}/epic-account`, { epicAccountId: newEpicId(), lifetimeKills: 1 });
      await synced(app);
      const other = app.otherInstanceWorkers();
      try {
        const [poller, otherPoller] = [app.workers.statsPoller, other.statsPoller];
        const [scheduler, otherScheduler] = [app.workers.reverification, other.reverification];
        if (poller === null || otherPoller === null || scheduler === null || otherScheduler === null) throw new Error('the workers are configured');
        const statsAsked = stats.requests().length;
        const yuniteAsked = yunite.requests().length;

        const polled = await poller.runOnce();
        const reverified = await scheduler.runOnce();
        expect(await otherPoller.runOnce()).toEqual({ polled: 0, recorded: 0, failed: 0 });
        expect(await otherScheduler.runOnce()).toEqual({ verified: 0, failed: 0 });
        expect(polled.polled).toBeGreaterThan(0);
        expect(reverified.verified).toBeGreaterThan(0);
        expect(stats.requests().length - statsAsked).toBe(polled.polled);
        expect(yunite.requests().length - yuniteAsked).toBe(reverified.verified);

        // Stopping gives the turn up: the other instance takes it at its next run, and keeps it.
        await Promise.all([poller.stop(), scheduler.stop()]);
        expect((await otherPoller.runOnce()).polled).toBeGreaterThan(0);
        expect((await otherScheduler.runOnce()).verified).toBeGreaterThan(0);
        expect(await poller.runOnce()).toEqual({ polled: 0, recorded: 0, failed: 0 });
        expect(await scheduler.runOnce()).toEqual({ verified: 0, failed: 0 });
      } finally {
        await other.stop();
      }
    });
  });
});

describe('POST /v1/users/:userId/verify without Yunite', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers 503 yunite_not_configured and records nothing', async () => {
    const authorization = `Bearer ${app.apiKey}`;
    const registered = await fetch(`${app.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ discordUserId: '888888888888888888' }),
    });
    const { userId } = (await registered.json()) as { userId: string };
    const response = await fetch(`${app.baseUrl}/v1/users/${userId}/verify`, { method: 'POST', headers: { authorization } });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'yunite_not_configured' });
    expect(await app.store.readStream(`user-${userId}`)).toHaveLength(1);
    expect(app.workers.statsPoller).toBeNull();
    expect(app.workers.reverification).toBeNull();
  });

  it('answers 404 user_not_found for a user never registered, as every command does, not a 503 to retry', async () => {
    const response = await fetch(`${app.baseUrl}/v1/users/6f1c0000-0000-4000-8000-000000000000/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.apiKey}` },
    });
    expect({ status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({ status: 404, retryAfter: null });
    expect(await response.json()).toMatchObject({ code: 'user_not_found' });
  });
});

/**
 * Registers one user per Discord id and links each to an Epic account the stats API and Yunite
 * know, then waits for the read model. Returns the Epic accounts and Discord ids in user id order:
 * the order the workers walk.
 */
async function linkedUsers(app: TestApp, stats: FortniteStatsDouble, yunite: YuniteDouble, discordIds: readonly string[]): Promise<{ epicIds: string[]; discordIds: string[] }> {
  const headers = { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' };
  const users: Array<{ userId: string; epicAccountId: string; discordUserId: string }> = [];
  for (const [index, discordUserId] of discordIds.entries()) {
    const registered = await fetch(`${app.baseUrl}/v1/users`, { method: 'POST', headers, body: JSON.stringify({ discordUserId }) });
    const { userId } = (await registered.json()) as { userId: string };
    const epicAccountId = String(index + 1).padStart(32, 'e');
    const linked = await fetch(`${app.baseUrl}/v1/users/${userId}/epic-account`, { method: 'PUT', headers, body: JSON.stringify({ epicAccountId, lifetimeKills: 10 }) });
    expect(linked.status).toBe(200);
    stats.setKills(epicAccountId, 10);
    yunite.link(discordUserId, epicAccountId);
    users.push({ userId, epicAccountId, discordUserId });
  }
  await synced(app);
  users.sort((a, b) => (a.userId < b.userId ? -1 : 1));
  return { epicIds: users.map((user) => user.epicAccountId), discordIds: users.map((user) => user.discordUserId) };
}

/** Who an instance's workers served in one run each: Epic accounts polled, Discord ids re-verified. */
async function runOnceEach(instance: Workers, stats: FortniteStatsDouble, yunite: YuniteDouble): Promise<{ polled: string[]; reverified: string[] }> {
  const [statsAsked, yuniteAsked] = [stats.requests().length, yunite.requests().length];
  await instance.statsPoller?.runOnce();
  await instance.reverification?.runOnce();
  return {
    polled: stats.requests().slice(statsAsked).map((request) => request.accountId),
    reverified: yunite.requests().slice(yuniteAsked).flatMap((request) => request.discordIds),
  };
}

/**
 * The doubles and an app whose stats poller and re-verification each serve `usersPerRun` users a
 * run; the app's own poller (which ran at its start, with nobody linked) does not run again.
 */
async function startWalkingWorkers(usersPerRun: number): Promise<{ stats: FortniteStatsDouble; yunite: YuniteDouble; app: TestApp }> {
  const stats = await startFortniteStatsDouble();
  const yunite = await startYuniteDouble({ apiKey: YUNITE_KEY, guildId: GUILD });
  const app = await startTestApp({
    FORTNITE_STATS_BASE_URL: stats.baseUrl,
    FORTNITE_STATS_API_KEY: stats.apiKey,
    FORTNITE_STATS_TIMEOUT_MS: '1000',
    STATS_POLL_CALLS_PER_MINUTE: String(usersPerRun),
    STATS_POLL_INTERVAL_SECONDS: '86400',
    YUNITE_BASE_URL: yunite.baseUrl,
    YUNITE_API_KEY: YUNITE_KEY,
    YUNITE_GUILD_ID: GUILD,
    YUNITE_TIMEOUT_MS: '1000',
    YUNITE_REVERIFY_USERS_PER_RUN: String(usersPerRun),
  });
  return { stats, yunite, app };
}

describe('the stats poller and the re-verification across restarts', () => {
  let stats: FortniteStatsDouble;
  let yunite: YuniteDouble;
  let app: TestApp;

  beforeAll(async () => {
    ({ stats, yunite, app } = await startWalkingWorkers(1));
  });

  afterAll(async () => {
    await app.close();
    await stats.close();
    await yunite.close();
  });

  it('reach every linked user in turn when the service restarts after each run, not only the first ones in id order', async () => {
    const users = await linkedUsers(app, stats, yunite, ['810000000000000001', '810000000000000002', '810000000000000003']);

    // Each restart is a new instance's workers, which run once and stop (giving their leases up):
    // each goes on after the user the last one served, as stored in worker_cursors.
    const polled: string[] = [];
    const reverified: string[] = [];
    for (let restart = 0; restart < 6; restart += 1) {
      const instance = app.otherInstanceWorkers();
      const served = await runOnceEach(instance, stats, yunite);
      await instance.stop();
      polled.push(...served.polled);
      reverified.push(...served.reverified);
    }

    expect({ polled, reverified }).toEqual({ polled: [...users.epicIds, ...users.epicIds], reverified: [...users.discordIds, ...users.discordIds] });
  });
});

describe('the stats poller and the re-verification handed over between instances', () => {
  let stats: FortniteStatsDouble;
  let yunite: YuniteDouble;
  let app: TestApp;

  beforeAll(async () => {
    ({ stats, yunite, app } = await startWalkingWorkers(2));
  });

  afterAll(async () => {
    await app.close();
    await stats.close();
    await yunite.close();
  });

  it('go on where the last holder of the lease stopped: nobody skipped, nobody served twice in a round', async () => {
    const discordIds = Array.from({ length: 5 }, (_, index) => `82000000000000000${index}`);
    const { epicIds, discordIds: inOrder } = await linkedUsers(app, stats, yunite, discordIds);
    const first = app.otherInstanceWorkers();
    const second = app.otherInstanceWorkers();
    const third = app.otherInstanceWorkers();
    const steps: Array<{ polled: string[]; reverified: string[] }> = [];
    try {
      steps.push(await runOnceEach(first, stats, yunite)); // the first takes the leases: users 1 and 2
      steps.push(await runOnceEach(second, stats, yunite)); // the first holds them: nobody
      await first.stop();
      steps.push(await runOnceEach(second, stats, yunite)); // handed over: users 3 and 4
      steps.push(await runOnceEach(third, stats, yunite)); // the second holds them: nobody
      await second.stop();
      steps.push(await runOnceEach(third, stats, yunite)); // handed over: user 5, then round to 1
    } finally {
      await Promise.all([first.stop(), second.stop(), third.stop()]);
    }

    const expected = (ids: string[]) => [ids.slice(0, 2), [], ids.slice(2, 4), [], [ids[4] as string, ids[0] as string]];
    expect({ polled: steps.map((step) => step.polled), reverified: steps.map((step) => step.reverified) }).toEqual({ polled: expected(epicIds), reverified: expected(inOrder) });
  });
});
