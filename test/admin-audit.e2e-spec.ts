import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { sql } from 'slonik';
import { adminAuditProjection } from '../projections/admin-audit/admin-audit.projection';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { RunSettlementCommand } from '../src/payouts/run-settlement/run-settlement.command';
import { ApiKeys } from '../src/security/api-keys';
import { startYuniteDouble, type YuniteDouble } from './doubles/yunite.double';
import { type Answer, call, earner, newBananoAccount } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const WALLET = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const YUNITE_KEY = 'admin-test-yunite-key';
const GUILD = '123456789012345678';

/** The admin audit (SPEC §4.6): every admin action, by whom, from where, to what. */
describe('the admin audit', () => {
  let app: TestApp;
  let yunite: YuniteDouble;

  beforeAll(async () => {
    yunite = await startYuniteDouble({ apiKey: YUNITE_KEY, guildId: GUILD });
    app = await startTestApp({
      SETTLEMENT_INTERVAL_SECONDS: '0',
      YUNITE_BASE_URL: yunite.baseUrl,
      YUNITE_API_KEY: YUNITE_KEY,
      YUNITE_GUILD_ID: GUILD,
      YUNITE_TIMEOUT_MS: '1000',
    });
  });

  afterAll(async () => {
    await app?.close();
    await yunite?.close();
  });

  const head = async (): Promise<string> => (await app.store.headPosition())?.toString() ?? '0';
  const refusal = (answer: Answer) => ({ status: answer.status, problem: answer.contentType.startsWith('application/problem+json'), code: answer.body.code });

  describe('GET /v1/admin/audit', () => {
    /** The node refused the payout's only attempt: with maxAttempts 1 it is failed at once, so an admin may retry or cancel it. */
    async function failPayout(userId: string, payoutId: string): Promise<void> {
      await runUserCommand(
        app.store,
        userId,
        {
          type: 'RecordPayoutAttemptFailed',
          data: { payoutId, attempt: 1, error: 'Block is invalid', blockHash: null, policy: { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 }, now: new Date() },
        },
        { correlationId: randomUUID(), causationId: payoutId, actor: { kind: 'system', name: 'payout-executor' } },
      );
    }

    /** Every kind of admin action this app can take in dry-run, each under its own request id. */
    async function adminActions(): Promise<{ payoutId: string; failedPayoutId: string; flagId: string; userId: string; runId: string; operatorAddress: string; operatorSeed: string }> {
      const other = await new ApiKeys(app.pool).create({ name: 'second-admin', scopes: ['admin'] });
      const asOther = { authorization: `Bearer ${other.key}` };
      await call(app, 'PUT', '/v1/admin/config/scheduler', { settlementIntervalSeconds: 3600 }, { 'x-request-id': 'audit-schedule' });
      const earning = await earner(app, 12, { wallet: WALLET });
      const failing = await earner(app, 7, { wallet: WALLET });
      const flagged = await earner(app, 5, { wallet: WALLET });
      const jump = await call(app, 'POST', `/v1/users/${flagged.userId}/kills`, { lifetimeKills: 900 });
      const flagId = (jump.body.flags as Array<{ flagId: string }>)[0].flagId;
      await synced(app);

      await call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: 149, banPerKill: '0.07' }, { 'x-request-id': 'audit-config' });
      const operator = await newBananoAccount();
      await call(app, 'PUT', '/v1/admin/operator-seed', { seed: operator.seed }, { 'x-request-id': 'audit-seed' });
      const run = await call(app, 'POST', '/v1/admin/settlements', {}, { 'x-request-id': 'audit-settlement', ...asOther });
      const payouts = run.body.payouts as Array<{ payoutId: string; userId: string }>;
      const payoutId = payouts.find((payout) => payout.userId === earning.userId)?.payoutId as string;
      const failedPayoutId = payouts.find((payout) => payout.userId === failing.userId)?.payoutId as string;
      await failPayout(earning.userId, payoutId);
      await failPayout(failing.userId, failedPayoutId);
      await synced(app);
      await call(app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: 'paid by hand' }, { 'x-request-id': 'audit-cancel' });
      await call(app, 'POST', `/v1/admin/payouts/${failedPayoutId}/retry`, undefined, { 'x-request-id': 'audit-retry' });
      await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'a real streak' }, { 'x-request-id': 'audit-clear' });
      yunite.link(earning.discordUserId, earning.epicAccountId);
      await call(app, 'POST', `/v1/admin/users/${earning.userId}/reverify`, undefined, { 'x-request-id': 'audit-reverify' });
      // Not admin actions: the same verification by an integration, a scheduled settlement, the executor's sends.
      await call(app, 'POST', `/v1/users/${earning.userId}/verify`);
      await earner(app, 4, { wallet: WALLET });
      await synced(app);
      const scheduled = (await app.app
        .get(CommandBus)
        .execute(new RunSettlementCommand(false, 'schedule', { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'settlement-scheduler' } }))) as { payoutsRequested: number };
      expect(scheduled.payoutsRequested).toBeGreaterThan(0);
      await app.workers.payoutExecutor.runOnce();
      return { payoutId, failedPayoutId, flagId, userId: earning.userId, runId: run.body.runId as string, operatorAddress: operator.address, operatorSeed: operator.seed };
    }

    it('lists every admin action newest first, with actor, request id, client IP, target and summary, and nothing else', async () => {
      const since = new Date().toISOString();
      const { payoutId, failedPayoutId, flagId, userId, runId, operatorAddress, operatorSeed } = await adminActions();

      const audit = await call(app, 'GET', `/v1/admin/audit?since=${since}&limit=100&minPosition=${await head()}`);

      expect(audit.status).toBe(200);
      const items = audit.body.items as Array<Record<string, unknown>>;
      expect(items.map((item) => [item.action, item.requestId, item.actor, (item.target as { id: string }).id])).toEqual([
        ['user.reverify', 'audit-reverify', 'test-all', userId],
        ['abuse_flag.clear', 'audit-clear', 'test-all', flagId],
        ['payout.retry', 'audit-retry', 'test-all', failedPayoutId],
        ['payout.cancel', 'audit-cancel', 'test-all', payoutId],
        ['settlement.run', 'audit-settlement', 'second-admin', runId],
        ['secure_config.set', 'audit-seed', 'test-all', 'operator_seed'],
        ['config.payout', 'audit-config', 'test-all', 'payout'],
        ['config.scheduler', 'audit-schedule', 'test-all', 'scheduler'],
      ]);
      expect(items.every((item) => item.clientIp === '127.0.0.1')).toBe(true);
      expect(items.find((item) => item.action === 'config.payout')).toMatchObject({
        target: { type: 'config', id: 'payout' },
        // Named in the order of the request body's fields, though the stored event's keys come back sorted.
        summary: 'banPerKill 0.05000000 BAN → 0.07000000 BAN; dailyKillCap 150 → 149',
        eventType: 'PayoutConfigChanged',
        streamName: 'faucet-config',
      });
      expect(items.find((item) => item.action === 'settlement.run')?.summary).toMatch(
        /^Settlement run triggered \(dry-run, spendable [0-9.]+ BAN\) ⇒ \d+ eligible, \d+ payouts requested for \d+ kills and [0-9.]+ BAN$/,
      );
      const seedSet = items.find((item) => item.action === 'secure_config.set');
      expect(seedSet?.summary).toMatch(new RegExp(`^operator_seed set under key [0-9a-f]{16}, operator address ${operatorAddress}$`));
      expect(JSON.stringify(audit.body).toLowerCase()).not.toContain(operatorSeed.toLowerCase());
      expect(items.find((item) => item.action === 'payout.cancel')?.summary).toMatch(/^Payout cancelled, 12 kills and [0-9.]+ BAN released: paid by hand$/);
      expect(items.find((item) => item.action === 'abuse_flag.clear')?.summary).toMatch(/a real streak$/);
      expect(audit.body.nextCursor).toBeNull();
    });

    it('filters by action, actor, target and time, and pages with an opaque cursor', async () => {
      await synced(app);
      const all = (await call(app, 'GET', '/v1/admin/audit?limit=100')).body.items as Array<Record<string, unknown>>;
      const pages: Array<Record<string, unknown>> = [];
      let cursor: string | null = null;
      do {
        const page: Answer = await call(app, 'GET', `/v1/admin/audit?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
        pages.push(...(page.body.items as Array<Record<string, unknown>>));
        cursor = page.body.nextCursor as string | null;
      } while (cursor !== null);
      const cancels = await call(app, 'GET', '/v1/admin/audit?action=payout.cancel');
      const bySecond = await call(app, 'GET', '/v1/admin/audit?actor=second-admin');
      const cancelled = cancels.body.items as Array<{ target: { type: string; id: string } }>;
      const byTarget = await call(app, 'GET', `/v1/admin/audit?targetType=payout&targetId=${cancelled[0]?.target.id}`);
      const future = await call(app, 'GET', `/v1/admin/audit?since=${new Date(Date.now() + 60_000).toISOString()}`);
      const past = await call(app, 'GET', '/v1/admin/audit?until=2000-01-01T00:00:00Z');
      const instant = all.map((item) => item.occurredAt as string).at(-1) as string;
      const empty = await call(app, 'GET', `/v1/admin/audit?since=${instant}&until=${instant}`);

      expect(all.length).toBeGreaterThanOrEqual(7);
      expect(pages).toEqual(all);
      // A cursor pages the list it came from: with other filters it is refused, not followed.
      const first = (await call(app, 'GET', '/v1/admin/audit?limit=1')).body.nextCursor as string;
      expect((await call(app, 'GET', `/v1/admin/audit?action=payout.cancel&cursor=${first}`)).body).toMatchObject({ status: 422, code: 'invalid_cursor' });
      expect(cancelled.map((item) => item.target.type)).toEqual(['payout']);
      expect((bySecond.body.items as Array<{ action: string }>).map((item) => item.action)).toEqual(['settlement.run']);
      expect((byTarget.body.items as Array<{ action: string }>).map((item) => item.action)).toEqual(['payout.cancel']);
      expect(future.body.items).toEqual([]);
      expect(past.body.items).toEqual([]);
      // since is inclusive and until exclusive, so a range that starts where it ends holds nothing.
      expect(empty.status).toBe(200);
      expect(empty.body.items).toEqual([]);
    });

    it('rebuilds to the same rows when its events are applied again', async () => {
      await synced(app);
      const rows = sql.unsafe`SELECT * FROM admin_audit ORDER BY position`;
      const before = await app.pool.any(rows);
      const events = await app.store.readAll({ maxCount: 100_000, filter: adminAuditProjection.filter });
      await app.pool.transaction(async (transaction) => adminAuditProjection.apply(transaction, events));

      expect(before.length).toBeGreaterThanOrEqual(7);
      expect(await app.pool.any(rows)).toEqual(before);
    });

    it.each([
      ['action=DROP%20TABLE', 'invalid_action'],
      ['actor=%00', 'invalid_actor'],
      ['targetType=payout;', 'invalid_target_type'],
      ['targetId=../../etc/passwd', 'invalid_target_id'],
      ['since=yesterday', 'invalid_since'],
      ['since=2026-W49-7', 'invalid_since'],
      ['since=2026-12-06T04:00:00', 'invalid_since'],
      // In UTC this is in the year 10000, which PostgreSQL cannot read: it was a 500.
      ['since=9999-12-31T23:59:59-23:59', 'invalid_since'],
      ['until=2026-12-06', 'invalid_until'],
      ['until=2026-02-30T00:00:00Z', 'invalid_until'],
      // A range that ends before it starts is a mistake, not an empty answer; an empty one is fine.
      ['since=2026-12-07T00:00:00Z&until=2026-12-06T23:59:59Z', 'invalid_until'],
      ['since=2026-12-07T01:00:00%2B01:00&until=2026-12-06T23:59:59.999Z', 'invalid_until'],
      ['limit=101', 'invalid_limit'],
      ['cursor=not-a-cursor', 'invalid_cursor'],
    ])('refuses ?%s with 422', async (query, code) => {
      expect(refusal(await call(app, 'GET', `/v1/admin/audit?${query}`))).toEqual({ status: 422, problem: true, code });
    });
  });

  it('answers 404 user_not_found to a re-verification of a user never registered, asking Yunite nothing and leaving no row', async () => {
    await synced(app);
    const before = { head: await head(), yunite: yunite.requests().length, audit: (await call(app, 'GET', '/v1/admin/audit?action=user.reverify')).body.items };
    const unknown = randomUUID();

    const refused = await call(app, 'POST', `/v1/admin/users/${unknown.toUpperCase()}/reverify`);
    await synced(app);

    expect(refusal(refused)).toEqual({ status: 404, problem: true, code: 'user_not_found' });
    expect(await head()).toBe(before.head);
    expect(yunite.requests()).toHaveLength(before.yunite);
    expect(await app.store.readStream(`user-${unknown}`)).toEqual([]);
    expect((await call(app, 'GET', '/v1/admin/audit?action=user.reverify')).body.items).toEqual(before.audit);
  });
});

describe('the admin audit of an operator seed change appended late', () => {
  it('dates the change when it was made, not when the outbox appended its event', async () => {
    const app = await startTestApp();
    try {
      // A change whose process died after its commit is appended by the next start-up, an hour later, say.
      const changedAt = new Date(Date.now() - 3_600_000).toISOString();
      const operator = await newBananoAccount();
      await app.store.appendToStream(
        'secure-config',
        [
          {
            id: randomUUID(),
            type: 'SecureConfigChanged',
            data: { name: 'operator_seed', keyId: 'master-1', address: operator.address, action: 'set', changedAt },
            metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'admin', name: 'ops' }, schemaVersion: 1 },
          },
        ],
        { expectedRevision: 'any' },
      );
      await synced(app);
      const audit = await call(app, 'GET', '/v1/admin/audit');
      expect(audit.body.items).toMatchObject([{ action: 'secure_config.set', actor: 'ops', occurredAt: changedAt }]);
    } finally {
      await app.close();
    }
  });
});
