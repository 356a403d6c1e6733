import { sql } from 'slonik';
import { FaucetSettings } from '../src/admin/faucet-config/faucet-settings';
import { toStreamName } from '../src/identity/user/user.stream';
import { loadConfig } from '../src/platform/config/config';
import { parseBan } from '../src/platform/money';
import { type Answer, call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const WALLET = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const raw = (ban: string): string => (parseBan(ban) as bigint).toString();

/** Admin settings (SPEC §5 PUT /v1/admin/config/*) and GET /v1/admin/stats. */
describe('administration: settings and stats', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
  });

  afterAll(async () => {
    await app?.close();
  });

  const eventCount = async (): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));
  const head = async (): Promise<string> => (await app.store.headPosition())?.toString() ?? '0';
  const refusal = (answer: Answer) => ({ status: answer.status, problem: answer.contentType.startsWith('application/problem+json'), code: answer.body.code });

  describe('PUT /v1/admin/config/payout', () => {
    it('changes the base from the next accrual and the caps from the next run, and shows the change in the stats', async () => {
      const { userId } = await earner(app, 10, { wallet: WALLET });
      const changed = await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: '0.1', dailyKillCap: 4 }, { 'x-request-id': 'config-change-1' });
      await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 20 });
      await synced(app);
      const accruals = (await app.store.readStream(toStreamName(userId))).filter((event) => event.type === 'AccrualRecorded');
      const preview = await call(app, 'POST', '/v1/admin/settlements', { preview: true });
      const user = await call(app, 'GET', `/v1/users/${userId}`);
      const stats = await call(app, 'GET', `/v1/admin/stats?minPosition=${await head()}`);
      const [event] = await app.store.readStream('faucet-config');

      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        payout: { banPerKillRaw: raw('0.1'), banPerKillBan: '0.10000000', dailyKillCap: 4, weeklyKillCap: 750, minOperatorBalanceBan: '50.00000000' },
        changed: ['banPerKillRaw', 'dailyKillCap'],
      });
      expect(event).toMatchObject({
        type: 'PayoutConfigChanged',
        data: { changes: { banPerKillRaw: raw('0.1'), dailyKillCap: 4 }, previous: { banPerKillRaw: raw('0.05'), dailyKillCap: 150 } },
        metadata: { actor: { kind: 'admin', name: 'test-all' }, correlationId: 'config-change-1', clientIp: '127.0.0.1' },
      });
      // The accrual before the change has the old base, the one after it the new base.
      expect(accruals.map((accrual) => accrual.data.baseRatePerKillRaw)).toEqual([raw('0.05'), raw('0.1')]);
      expect(preview.body).toMatchObject({ payoutsRequested: 1, killsRequested: 4 });
      expect(user.body).toMatchObject({ capsRemaining: { today: 4, thisWeek: 750 } });
      expect(stats.status).toBe(200);
      expect(stats.body).toMatchObject({
        gateway: 'dry-run',
        config: {
          payout: { banPerKillBan: '0.10000000', dailyKillCap: 4, weeklyKillCap: 750, minOperatorBalanceRaw: raw('50') },
          lastChange: { type: 'PayoutConfigChanged', actor: 'test-all' },
        },
        users: { registered: expect.any(Number) as number, linked: expect.any(Number) as number },
        accruals: { unsettledKills: expect.any(Number) as number },
        payouts: { pending: { count: 0 }, sent: { count: 0 } },
      });
    });

    it('reads a setting given as null as not given, and changes only the others', async () => {
      const before = (await call(app, 'GET', '/v1/admin/stats')).body as { config: { payout: Record<string, unknown> } };

      const changed = await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: null, dailyKillCap: 140, weeklyKillCap: null, minOperatorBalanceBan: null });

      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        payout: { banPerKillBan: before.config.payout.banPerKillBan, dailyKillCap: 140, minOperatorBalanceBan: '50.00000000' },
        changed: ['dailyKillCap'],
      });
    });

    it('appends nothing when the body asks for what is already in force', async () => {
      await call(app, 'PUT', '/v1/admin/config/payout', { weeklyKillCap: 600 });
      const before = await eventCount();

      const again = await call(app, 'PUT', '/v1/admin/config/payout', { weeklyKillCap: 600 });

      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ payout: { weeklyKillCap: 600 }, changed: [] });
      expect(await eventCount()).toBe(before);
    });

    it('loses no change when admins change the same setting at once: each event was decided on the one before it', async () => {
      const caps = [201, 202, 203, 204, 205, 206];
      const before = (await app.store.readStream('faucet-config')).length;

      const answers = await Promise.all(caps.map((cap) => call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: cap })));
      const events = (await app.store.readStream('faucet-config')).slice(before);
      const stats = await call(app, 'GET', '/v1/admin/stats');

      // A change that kept meeting others may be refused (SPEC §3: bounded retries, then 409); none is dropped unsaid.
      const accepted = caps.filter((_cap, index) => answers[index].status === 200);
      expect(answers.map((answer) => (answer.status === 200 ? answer.body.changed : answer.body.code))).toEqual(
        answers.map((answer) => (answer.status === 200 ? ['dailyKillCap'] : 'concurrency_conflict')),
      );
      const changes = events.map((event) => (event.data.changes as { dailyKillCap: number }).dailyKillCap);
      expect([...changes].sort()).toEqual(accepted);
      expect(accepted.length).toBeGreaterThan(0);
      // The faucet-config stream's expected revision: every change names as previous the value the one before it left.
      expect(events.slice(1).map((event) => (event.data.previous as { dailyKillCap: number }).dailyKillCap)).toEqual(changes.slice(0, -1));
      expect(stats.body).toMatchObject({ config: { payout: { dailyKillCap: changes.at(-1) } } });
    });

    it.each([
      ['an empty body', {}, 'empty_config_change'],
      ['a base given as a JSON number', { banPerKill: 0.1 }, 'invalid_ban_per_kill'],
      ['a zero base', { banPerKill: '0' }, 'invalid_ban_per_kill'],
      ['a base with 9 decimals', { banPerKill: '0.123456789' }, 'invalid_ban_per_kill'],
      ['a base above 1000 BAN', { banPerKill: '1000.5' }, 'invalid_ban_per_kill'],
      ['a negative base', { banPerKill: '-1' }, 'invalid_ban_per_kill'],
      ['a negative daily cap', { dailyKillCap: -1 }, 'invalid_daily_kill_cap'],
      ['a daily cap given as text', { dailyKillCap: '5' }, 'invalid_daily_kill_cap'],
      ['a fractional weekly cap', { weeklyKillCap: 2.5 }, 'invalid_weekly_kill_cap'],
      ['a weekly cap above a million', { weeklyKillCap: 1_000_001 }, 'invalid_weekly_kill_cap'],
      ['a negative floor', { minOperatorBalanceBan: '-1' }, 'invalid_min_operator_balance_ban'],
      ['a floor above 10,000,000,000 BAN', { minOperatorBalanceBan: '10000000000.00000001' }, 'invalid_min_operator_balance_ban'],
      ['an unknown field', { banPerKill: '0.2', surprise: true }, 'unknown_property'],
      // A null setting counts as not given (RequestValidationPipe): each of these was a 500 or a refusal of its own once.
      ['every setting null', { banPerKill: null, dailyKillCap: null, weeklyKillCap: null, minOperatorBalanceBan: null }, 'empty_config_change'],
      ['a null base alone', { banPerKill: null }, 'empty_config_change'],
      ['a null floor alone', { minOperatorBalanceBan: null }, 'empty_config_change'],
    ])('refuses %s with 422 and appends nothing', async (_case, body, code) => {
      const before = await eventCount();
      const refused = await call(app, 'PUT', '/v1/admin/config/payout', body);
      expect(refusal(refused)).toEqual({ status: 422, problem: true, code });
      expect(await eventCount()).toBe(before);
    });
  });

  describe('PUT /v1/admin/config/scheduler', () => {
    it('changes the batch size of the next run and shows the schedule in the stats', async () => {
      await earner(app, 3, { wallet: WALLET });
      await earner(app, 3, { wallet: WALLET });
      await synced(app);

      const changed = await call(app, 'PUT', '/v1/admin/config/scheduler', { settlementIntervalSeconds: 600, settlementBatchSize: 1 });
      const preview = await call(app, 'POST', '/v1/admin/settlements', { preview: true });
      const stats = await call(app, 'GET', '/v1/admin/stats');
      await call(app, 'PUT', '/v1/admin/config/scheduler', { settlementIntervalSeconds: 0, settlementBatchSize: 0 });

      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ scheduler: { settlementIntervalSeconds: 600, settlementBatchSize: 1 }, changed: ['settlementIntervalSeconds', 'settlementBatchSize'] });
      expect(preview.body).toMatchObject({ payoutsRequested: 1 });
      expect((preview.body.eligible as number) > 1).toBe(true);
      expect(stats.body).toMatchObject({ config: { scheduler: { settlementIntervalSeconds: 600, settlementBatchSize: 1 }, lastChange: { type: 'SchedulerConfigChanged' } } });
    });

    it('records a value equal to this process\'s default, so a process started with another environment keeps it too', async () => {
      // A ledger no admin has configured yet. This service runs with SETTLEMENT_INTERVAL_SECONDS=0;
      // `npm run start:payouts` beside it with 1200 and SETTLEMENT_BATCH_SIZE=7. The admin asks
      // this service for 0 and all users.
      const fresh = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
      try {
        const payoutsProcess = new FaucetSettings(fresh.store, loadConfig({ DATABASE_URL: fresh.database.url, SETTLEMENT_INTERVAL_SECONDS: '1200', SETTLEMENT_BATCH_SIZE: '7' }));
        const before = (await payoutsProcess.current()).scheduler;

        const pinned = await call(fresh, 'PUT', '/v1/admin/config/scheduler', { settlementIntervalSeconds: 0, settlementBatchSize: 0 });
        const again = await call(fresh, 'PUT', '/v1/admin/config/scheduler', { settlementIntervalSeconds: 0, settlementBatchSize: 0 });

        expect(pinned.body).toMatchObject({ scheduler: { settlementIntervalSeconds: 0, settlementBatchSize: 0 } });
        expect(before).toEqual({ settlementIntervalSeconds: 1200, settlementBatchSize: 7 });
        expect((await payoutsProcess.current()).scheduler).toEqual({ settlementIntervalSeconds: 0, settlementBatchSize: 0 });
        expect(again.body).toMatchObject({ changed: [] });
      } finally {
        await fresh.close();
      }
    });

    it.each([
      ['an empty body', {}, 'empty_config_change'],
      ['a negative interval', { settlementIntervalSeconds: -1 }, 'invalid_settlement_interval_seconds'],
      ['an interval above a week', { settlementIntervalSeconds: 604_801 }, 'invalid_settlement_interval_seconds'],
      ['a batch size given as text', { settlementBatchSize: 'all' }, 'invalid_settlement_batch_size'],
      ['an unknown field', { settlementIntervalSeconds: 60, cron: '* * * * *' }, 'unknown_property'],
      ['every setting null', { settlementIntervalSeconds: null, settlementBatchSize: null }, 'empty_config_change'],
    ])('refuses %s with 422 and appends nothing', async (_case, body, code) => {
      const before = await eventCount();
      const refused = await call(app, 'PUT', '/v1/admin/config/scheduler', body);
      expect(refusal(refused)).toEqual({ status: 422, problem: true, code });
      expect(await eventCount()).toBe(before);
    });
  });

  it.each([
    ['payout', 'dailyKillCap'],
    ['payout', 'weeklyKillCap'],
    ['scheduler', 'settlementIntervalSeconds'],
    ['scheduler', 'settlementBatchSize'],
  ])('a %s setting %s given as text is refused as not a whole number, not as out of bounds', async (config, field) => {
    const refused = await call(app, 'PUT', `/v1/admin/config/${config}`, { [field]: '5' });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toBe(`${field} must be a whole number`);
  });
});
