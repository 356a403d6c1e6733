import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { UserStateCache } from '../src/identity/user/user-state-cache';
import { bananoGatewayFromConfig } from '../src/payouts/banano/banano-gateway';
import { executorMetadata } from '../src/payouts/executor/payout-executor';
import { accountFromSeed } from '../src/payouts/banano/state-block';
import { startBananoNodeDouble } from './doubles/banano-node.double';
import { startYuniteDouble } from './doubles/yunite.double';
import { loadConfig } from '../src/platform/config/config';
import { payoutReadinessCheck } from '../src/workers';
import { call, earner as newEarner } from './support/scenario';
import { openTransaction } from './support/open-transaction';
import { startTestApp, synced, type TestApp } from './support/test-app';
import { clearOfUtcMidnight, nextUtcMidnightMs, withProcessClockOffset } from './support/utc-clock';

const WALLET = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';

/** Settlement in dry-run over HTTP: eligibility, caps with splits, budget, the cursor, the lock. */
describe('settlement and dry-run payouts', () => {

  async function withApp<T>(env: Record<string, string>, body: (app: TestApp) => Promise<T>): Promise<T> {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', ...env });
    try {
      return await body(app);
    } finally {
      await app.close();
    }
  }

  /** A user that has accrued `kills` kills, paid to WALLET unless told to have no wallet. */
  const earner = async (app: TestApp, kills: number, options: { wallet?: boolean } = {}): Promise<string> =>
    (await newEarner(app, kills, { wallet: options.wallet === false ? null : WALLET })).userId;

  const caughtUp = async (app: TestApp): Promise<string> => (await app.store.headPosition())?.toString() ?? '0';
  const eventCount = async (app: TestApp): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));

  it('pays eligible users once, moves the settled cursor only when sent, and leaves nothing to pay twice', async () => {
    // The caps left after the run are counted on the day of the run.
    await clearOfUtcMidnight(20_000);
    await withApp({}, async (app) => {
      const paid = await earner(app, 30);
      const other = await earner(app, 12);
      const noWallet = await earner(app, 40, { wallet: false });
      const flagged = await earner(app, 10);
      await call(app, 'POST', `/v1/users/${flagged}/kills`, { lifetimeKills: 900 });
      await synced(app);

      const before = await eventCount(app);
      const preview = await call(app, 'POST', '/v1/admin/settlements', { preview: true });
      expect(await eventCount(app)).toBe(before);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      const requestedUser = await call(app, 'GET', `/v1/users/${paid}?minPosition=${run.body.position as string}`);
      const pending = await call(app, 'GET', `/v1/users/${paid}/payouts`);

      expect(preview.body).toMatchObject({ preview: true, eligible: 2, payoutsRequested: 2, killsRequested: 42, amountRequestedBan: '4.20000000' });
      expect(run.body).toMatchObject({ preview: false, eligible: 2, payoutsRequested: 2, killsRequested: 42, amountRequestedRaw: '420000000000000000000000000000', skipped: 0 });
      expect(new Set((run.body.payouts as Array<{ userId: string }>).map((payout) => payout.userId))).toEqual(new Set([paid, other]));
      // Each listed payout gives its amount as a raw and BAN pair, in the preview and in the run.
      for (const listed of [preview.body.payouts, run.body.payouts] as Array<Array<Record<string, unknown>>>) {
        const byUser = new Map(listed.map(({ payoutId: _payoutId, ...payout }) => [payout.userId, payout]));
        expect(byUser.get(paid)).toEqual({ userId: paid, kills: 30, amountRaw: '300000000000000000000000000000', amountBan: '3.00000000' });
        expect(byUser.get(other)).toEqual({ userId: other, kills: 12, amountRaw: '120000000000000000000000000000', amountBan: '1.20000000' });
      }
      expect(requestedUser.body).toMatchObject({ lastSettledKillCount: 0, unsettledKills: 30, capsRemaining: { today: 120, thisWeek: 720 } });
      const [payout] = pending.body.items as Array<Record<string, unknown>>;
      expect(payout).toMatchObject({ userId: paid, status: 'pending', kills: 30, amountBan: '3.00000000', address: WALLET, blockHash: null });

      const executed = await app.workers.payoutExecutor?.runOnce();
      const sent = await call(app, 'GET', `/v1/payouts/${payout.payoutId as string}?minPosition=${await caughtUp(app)}`);
      const settledUser = await call(app, 'GET', `/v1/users/${paid}?minPosition=${await caughtUp(app)}`);
      const accruals = await call(app, 'GET', `/v1/users/${paid}/accruals?minPosition=${await caughtUp(app)}`);
      const again = await call(app, 'POST', '/v1/admin/settlements', {});

      expect(executed).toEqual({ sent: 2, failed: 0 });
      expect(sent.body).toMatchObject({ status: 'sent', blockHash: `dryrun-${payout.payoutId as string}`, attemptCount: 1, accruals: [{ kills: 30 }] });
      expect(settledUser.body).toMatchObject({
        lastSettledKillCount: 30,
        unsettledKills: 0,
        unsettledRaw: '0',
        totalPaidRaw: '300000000000000000000000000000',
        totalPaidBan: '3.00000000',
        lastSettlementAt: expect.any(String),
      });
      expect(accruals.body.items).toMatchObject([{ kills: 30, settled: true, payoutId: payout.payoutId }]);
      expect(again.body).toMatchObject({ eligible: 0, payoutsRequested: 0 });
      expect(noWallet).not.toBe(paid);
    });
  });

  it('sends more dry-run payouts than it has in flight at once, each exactly once', async () => {
    await withApp({}, async (app) => {
      // More than the dry-run sender has at once, so some wait for others to finish.
      const count = app.workers.payoutExecutor.sender.sendsAtOnceMax + 13;
      const users: string[] = [];
      for (let n = 0; n < count; n += 16) users.push(...(await Promise.all(Array.from({ length: Math.min(16, count - n) }, () => earner(app, 5)))));
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.body).toMatchObject({ payoutsRequested: count });
      await synced(app);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: count, failed: 0 });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });

      const sentPerUser = await app.pool.any(sql.unsafe`
        SELECT stream_name, count(*)::int AS sent FROM events WHERE event_type = 'PayoutSent' GROUP BY stream_name`);
      expect(sentPerUser).toHaveLength(count);
      expect(sentPerUser.every((row) => row.sent === 1)).toBe(true);
      expect(new Set(sentPerUser.map((row) => row.stream_name))).toEqual(new Set(users.map((userId) => `user-${userId}`)));
    });
  });

  it('decides each payout and each send on the stream as it is, when the state this instance cached is behind it', async () => {
    await withApp({}, async (app) => {
      const userId = await earner(app, 30);
      const userStates = app.app.get(UserStateCache);
      const beforeSecondAccrual = userStates.get(userId);
      expect(beforeSecondAccrual).toBeDefined();
      await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 50, observedAt: new Date(Date.now() - 60_000).toISOString() });
      // As if another instance had observed the second accrual: this one's cache stands before it.
      userStates.set(userId, beforeSecondAccrual!);
      await synced(app);

      const run = await call(app, 'POST', '/v1/admin/settlements', {});

      expect(run.body).toMatchObject({ payoutsRequested: 1, killsRequested: 50, skipped: 0 });
      const stream = await app.store.readStream(`user-${userId}`);
      expect(stream.at(-1)?.type).toBe('PayoutRequested');
      // The run left the state it decided on for the executor.
      expect(userStates.get(userId)?.revision).toBe(stream.at(-1)?.revision);
      const { payoutId } = (run.body.payouts as Array<{ payoutId: string }>)[0];

      // Another instance's executor sends it meanwhile; this one's cache still has it requested.
      await runUserCommand(
        app.store,
        userId,
        { type: 'RecordPayoutSent', data: { payoutId, gateway: 'dry-run', blockHash: `dryrun-${payoutId}`, now: new Date() } },
        executorMetadata(payoutId),
      );
      expect(userStates.get(userId)?.revision).toBe(stream.at(-1)?.revision);
      const outcome = await app.workers.payoutExecutor.sender.send({ payoutId, userId });

      expect(outcome).toBe('skipped');
      const sends = await app.pool.oneFirst(sql.unsafe`
        SELECT count(*)::int FROM events WHERE stream_name = ${`user-${userId}`} AND event_type = 'PayoutSent'`);
      expect(sends).toBe(1);
    });
  });

  it('does not pay a user whose last verification is not ok, until it is again', async () => {
    const yunite = await startYuniteDouble({ apiKey: 'settle-key', guildId: '900000000000000002' });
    try {
      await withApp({ YUNITE_BASE_URL: yunite.baseUrl, YUNITE_API_KEY: 'settle-key', YUNITE_GUILD_ID: '900000000000000002' }, async (app) => {
        const { userId, discordUserId, epicAccountId } = await newEarner(app, 10, { wallet: WALLET });
        yunite.unlink(discordUserId);
        const unverified = await call(app, 'POST', `/v1/users/${userId}/verify`);
        await synced(app);

        const skipped = await call(app, 'POST', '/v1/admin/settlements', {});
        yunite.link(discordUserId, epicAccountId);
        const verified = await call(app, 'POST', `/v1/users/${userId}/verify`);
        await synced(app);
        const paid = await call(app, 'POST', '/v1/admin/settlements', {});

        expect(unverified.body.status).toBe('no_epic_link');
        expect(skipped.body).toMatchObject({ eligible: 0, payoutsRequested: 0 });
        expect(verified.body.status).toBe('ok');
        expect(paid.body).toMatchObject({ eligible: 1, payoutsRequested: 1, killsRequested: 10 });
      });
    } finally {
      await yunite.close();
    }
  });

  it('pays exactly 25 of 60 owed kills under a 25-kill daily cap, at their own rates, and 0 more that day', async () => {
    // Both runs fall on one UTC day.
    await clearOfUtcMidnight(20_000);
    await withApp({ PAYOUT_DAILY_KILL_CAP: '25' }, async (app) => {
      const userId = await earner(app, 20);
      await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 60 });
      await synced(app);

      const first = await call(app, 'POST', '/v1/admin/settlements', {});
      // The executor finds payouts in the read model: let it see this one first.
      await synced(app);
      expect(await app.workers.payoutExecutor?.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      const second = await call(app, 'POST', '/v1/admin/settlements', {});
      const user = await call(app, 'GET', `/v1/users/${userId}?minPosition=${await caughtUp(app)}`);
      const accruals = await call(app, 'GET', `/v1/users/${userId}/accruals?minPosition=${await caughtUp(app)}`);

      expect(first.body).toMatchObject({ payoutsRequested: 1, killsRequested: 25, amountRequestedBan: '2.50000000' });
      expect(second.body).toMatchObject({ eligible: 1, payoutsRequested: 0, deferredByCaps: 1 });
      expect(user.body).toMatchObject({ lastSettledKillCount: 25, unsettledKills: 35, unsettledBan: '3.50000000', capsRemaining: { today: 0 } });
      // Oldest first: the 20-kill accrual whole, then 5 of the 40-kill one, which stays unsettled.
      expect(accruals.body.items).toMatchObject([
        { kills: 40, settled: false },
        { kills: 20, settled: true },
      ]);
    });
  });

  it('counts the daily cap on the database clock: an instance whose clock has passed 00:00 UTC early pays no more that day', async () => {
    await clearOfUtcMidnight(30_000);
    await withApp({ PAYOUT_DAILY_KILL_CAP: '25' }, async (app) => {
      // Given a player whose first 25 of 60 kills were paid today, under a 25-kill daily cap.
      const userId = await earner(app, 60);
      await synced(app);
      const first = await call(app, 'POST', '/v1/admin/settlements', {});
      await synced(app);
      expect(await app.workers.payoutExecutor?.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);

      // When another instance, whose clock already reads 3 s past the next 00:00 UTC while the
      // database's (which records every event's time, for every instance) does not, runs one and
      // answers the user's status.
      const offsetMs = nextUtcMidnightMs(Date.now()) + 3_000 - Date.now();
      const { second, status } = await withProcessClockOffset(offsetMs, async () => ({
        second: await call(app, 'POST', '/v1/admin/settlements', {}),
        status: await call(app, 'GET', `/v1/users/${userId}`),
      }));
      const payouts = await app.pool.anyFirst(
        sql.unsafe`SELECT kills FROM payouts WHERE user_id = ${userId} AND status <> 'cancelled'`,
      );

      // Then it claims nothing more that day: 25 kills in all, not 25 more labelled tomorrow.
      expect(first.body).toMatchObject({ payoutsRequested: 1, killsRequested: 25 });
      expect(second.body).toMatchObject({ eligible: 1, payoutsRequested: 0, deferredByCaps: 1 });
      expect(payouts.map(Number)).toEqual([25]);
      // And that instance's answer for the user's status counts the day on the same clock.
      expect(status.body).toMatchObject({ capsRemaining: { today: 0, thisWeek: 725 } });
    });
  });

  it('lowers the sustainability factor of later accruals once payouts are sent', async () => {
    // A 1 BAN seed fund: after 3 BAN paid, (1 + 0) / 3 = 0.3333, so 0.05 × 0.3333 = 0.01666500 BAN a kill.
    await withApp({ ECONOMICS_SEED_FUND_BAN: '1' }, async (app) => {
      const userId = await earner(app, 30);
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      await synced(app);
      await app.workers.payoutExecutor?.runOnce();
      await synced(app);

      const later = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 40 });

      expect(run.body).toMatchObject({ killsRequested: 30, amountRequestedBan: '3.00000000' });
      expect(later.body.accrual).toMatchObject({ kills: 10, sustainabilityFactor: '0.3333', ratePerKillBan: '0.01666500', amountBan: '0.16665000' });
    });
  });

  it('never claims kills accrued at a rate of 0, so they block no run and use no cap', async () => {
    // No seed fund: once 1 BAN is paid the factor is at its floor, 0.1, and 0.00000001 BAN a kill
    // × 0.1 floors to 0 at 8 decimals. Such kills were once planned into a payout of 0 raw, which
    // the user stream refuses, and every run after that failed with a 500.
    await withApp({ ECONOMICS_SEED_FUND_BAN: '0' }, async (app) => {
      await earner(app, 10);
      await synced(app);
      await call(app, 'POST', '/v1/admin/settlements', {});
      await synced(app);
      expect(await app.workers.payoutExecutor?.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: '0.00000001' });

      const userId = await earner(app, 10);
      await synced(app);
      const worthless = await call(app, 'GET', `/v1/users/${userId}/accruals`);
      const nothingToPay = await call(app, 'POST', '/v1/admin/settlements', {});
      await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: '0.05', dailyKillCap: 10 });
      const later = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 20 });
      await synced(app);
      const paid = await call(app, 'POST', '/v1/admin/settlements', {});
      await synced(app);
      expect(await app.workers.payoutExecutor?.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      const user = await call(app, 'GET', `/v1/users/${userId}`);

      expect(worthless.body.items).toMatchObject([{ kills: 10, ratePerKillRaw: '0', amountRaw: '0', sustainabilityFactor: '0.1000' }]);
      expect(nothingToPay.status).toBe(200);
      expect(nothingToPay.body).toMatchObject({ eligible: 0, payoutsRequested: 0 });
      expect(later.body.accrual).toMatchObject({ kills: 10, ratePerKillBan: '0.00500000' });
      // The 10 worthless kills are older, yet the 10-kill daily cap pays the 10 that are worth something.
      expect(paid.status).toBe(200);
      expect(paid.body).toMatchObject({ eligible: 1, payoutsRequested: 1, killsRequested: 10, amountRequestedBan: '0.05000000' });
      expect(user.body).toMatchObject({ lastSettledKillCount: 10, unsettledKills: 10, unsettledRaw: '0', totalPaidBan: '0.05000000' });
    });
  });

  it('requests nothing beyond the dry-run operator budget, and rolls the rest over', async () => {
    // 50 BAN floor + 3 BAN spendable: one 2-BAN payout fits, a second does not.
    await withApp({ BANANO_DRY_RUN_BALANCE_BAN: '53' }, async (app) => {
      await earner(app, 20);
      await earner(app, 20);
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.body).toMatchObject({ eligible: 2, payoutsRequested: 1, deferredByBudget: 1, amountRequestedBan: '2.00000000' });
    });
  });

  it('plans only from read models that hold every earlier run: one still behind fails the run with 503 read_model_behind, so a budget is never spent twice', async () => {
    // 50 BAN floor + 3 BAN spendable: one 2-BAN payout fits, a second does not, in this run or the next.
    await withApp({ BANANO_DRY_RUN_BALANCE_BAN: '53', SETTLEMENT_READ_MODEL_WAIT_SECONDS: '1' }, async (app) => {
      await earner(app, 20);
      await earner(app, 20);
      await synced(app);
      // The payouts read model stops before the first run's request, as behind a long batch would.
      const frozen = await openTransaction(app.database.url);
      await frozen.client.query(`SELECT 1 FROM projection_checkpoints WHERE projection_name = 'payouts' FOR UPDATE`);
      const first = await call(app, 'POST', '/v1/admin/settlements', {});
      const before = await eventCount(app);
      const second = await call(app, 'POST', '/v1/admin/settlements', {});
      const afterSecond = await eventCount(app);
      await frozen.end('ROLLBACK');
      await synced(app);
      const third = await call(app, 'POST', '/v1/admin/settlements', {});
      await app.workers.payoutExecutor.runOnce();
      await synced(app);

      expect(first.body).toMatchObject({ payoutsRequested: 1, deferredByBudget: 1, amountRequestedBan: '2.00000000' });
      expect({ status: second.status, code: second.body.code }).toEqual({ status: 503, code: 'read_model_behind' });
      expect(afterSecond).toBe(before);
      expect(third.body).toMatchObject({ eligible: 1, payoutsRequested: 0, deferredByBudget: 1 });
      const requested = await app.pool.oneFirst(sql.unsafe`SELECT coalesce(sum((data->>'amountRaw')::numeric), 0)::text FROM events WHERE event_type = 'PayoutRequested'`);
      expect(requested).toBe((2n * 10n ** 29n).toString());
    });
  });

  it('lets concurrent runs claim each kill once', async () => {
    await withApp({}, async (app) => {
      const users = [];
      for (let n = 0; n < 6; n += 1) users.push(await earner(app, 10 + n));
      await synced(app);

      const runs = await Promise.all(Array.from({ length: 4 }, () => call(app, 'POST', '/v1/admin/settlements', {})));
      const requested = runs.filter((run) => run.status === 200).reduce((sum, run) => sum + (run.body.killsRequested as number), 0);
      const refused = runs.filter((run) => run.status === 409);
      const claimed = Number(await app.pool.oneFirst(sql.unsafe`SELECT coalesce(sum((data->>'kills')::int), 0)::int FROM events WHERE event_type = 'PayoutRequested'`));

      expect(refused.every((run) => run.body.code === 'settlement_in_progress')).toBe(true);
      expect(claimed).toBe(10 + 11 + 12 + 13 + 14 + 15);
      expect(requested).toBe(claimed);
    });
  });

  it('refuses a preview that is not a boolean with 422 invalid_preview, appending nothing', async () => {
    await withApp({}, async (app) => {
      const before = await eventCount(app);
      const refused = await call(app, 'POST', '/v1/admin/settlements', { preview: 'yes' });
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 422, code: 'invalid_preview' });
      expect(await eventCount(app)).toBe(before);
    });
  });

  it('with BANANO_RPC_URL but no operator seed, requests nothing and says why', async () => {
    await withApp({ BANANO_RPC_URL: 'http://127.0.0.1:9' }, async (app) => {
      await earner(app, 10);
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.body).toMatchObject({ payoutsRequested: 0, reason: 'operator_seed_not_configured' });
      expect(app.workers.payoutExecutor.sender.mode).toBe('live');
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
    });
  });

  it('with an unreadable operator seed file, refuses to settle with 503 operator_seed_unreadable, never quoting the file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ledger-seed-'));
    try {
      const seedFile = join(directory, 'seed');
      await writeFile(seedFile, 'secret-but-not-a-seed', { mode: 0o600 });
      await withApp({ BANANO_RPC_URL: 'http://127.0.0.1:9', BANANO_OPERATOR_SEED_FILE: seedFile }, async (app) => {
        await earner(app, 10);
        await synced(app);
        const before = await eventCount(app);
        const run = await call(app, 'POST', '/v1/admin/settlements', {});
        expect(run).toMatchObject({ status: 503, body: { code: 'operator_seed_unreadable' } });
        expect(JSON.stringify(run.body)).not.toContain('secret-but-not-a-seed');
        expect(await eventCount(app)).toBe(before);
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('answers 404 payout_not_found and 422 invalid_payout_id', async () => {
    await withApp({}, async (app) => {
      expect((await call(app, 'GET', '/v1/payouts/00000000-0000-4000-8000-000000000000')).body.code).toBe('payout_not_found');
      expect((await call(app, 'GET', '/v1/payouts/nope')).body.code).toBe('invalid_payout_id');
    });
  });

  it('says on /ready whether payouts can go out', async () => {
    const readiness = (env: Record<string, string>) => payoutReadinessCheck(bananoGatewayFromConfig(loadConfig(env))).check();
    expect(await readiness({})).toEqual({ ok: true, detail: { mode: 'dry-run' } });
    expect(await readiness({ BANANO_RPC_URL: 'http://127.0.0.1:7072' })).toEqual({
      ok: false,
      detail: { mode: 'live', reason: 'operator_seed_not_configured' },
    });
    const directory = await mkdtemp(join(tmpdir(), 'ledger-seed-'));
    const node = await startBananoNodeDouble();
    try {
      const seedFile = join(directory, 'seed');
      const badSeedFile = join(directory, 'bad-seed');
      await writeFile(seedFile, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
      await writeFile(badSeedFile, 'not a seed', { mode: 0o600 });
      const { address, privateKey } = await accountFromSeed('AB'.repeat(32), 0);
      await node.fundAndOpen(privateKey, 12n * 10n ** 29n);
      expect(await readiness({ BANANO_RPC_URL: node.url, BANANO_OPERATOR_SEED_FILE: seedFile })).toEqual({
        ok: true,
        detail: { mode: 'live', operatorAddress: address, balanceBan: '12.00000000' },
      });
      expect(await readiness({ BANANO_RPC_URL: node.url, BANANO_OPERATOR_SEED_FILE: badSeedFile })).toEqual({
        ok: false,
        detail: { mode: 'live', reason: 'operator_seed_unreadable' },
      });
      expect(await readiness({ BANANO_RPC_URL: node.url, BANANO_OPERATOR_SEED_FILE: join(directory, 'missing') })).toEqual({
        ok: false,
        detail: { mode: 'live', reason: 'operator_seed_unreadable' },
      });
      await node.down();
      expect(await readiness({ BANANO_RPC_URL: node.url, BANANO_OPERATOR_SEED_FILE: seedFile, BANANO_RPC_TIMEOUT_MS: '200' })).toEqual({
        ok: false,
        detail: { mode: 'live', operatorAddress: address, reason: 'banano_node_unavailable' },
      });
    } finally {
      await node.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
