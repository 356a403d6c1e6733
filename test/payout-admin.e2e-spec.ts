import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { type BananoGateway } from '../src/payouts/banano/banano-gateway';
import { CancelPayoutCommand } from '../src/payouts/cancel-payout/cancel-payout.command';
import { CancelPayoutHandler } from '../src/payouts/cancel-payout/cancel-payout.handler';
import { toStreamName } from '../src/identity/user/user.stream';
import { type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { type Answer, call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const WALLET = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const TEST_ADMIN = { kind: 'admin', name: 'test-all' };

/** Admin retry and cancel of failed payouts over HTTP (SPEC §4.4.5, §5), in dry-run. */
describe('admin retry and cancel of payouts', () => {
  async function withApp<T>(body: (app: TestApp) => Promise<T>): Promise<T> {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      return await body(app);
    } finally {
      await app.close();
    }
  }

  /** The parts of a refusal integrations rely on: the status, the media type and the stable code. */
  const refusal = (answer: Answer): { status: number; problem: boolean; code: unknown } => ({
    status: answer.status,
    problem: answer.contentType.startsWith('application/problem+json'),
    code: answer.body.code,
  });

  /** Runs a settlement for one new earner; the executor is not started, so the payout stays requested. */
  async function requestedPayout(app: TestApp, kills: number): Promise<{ userId: string; payoutId: string }> {
    const { userId } = await earner(app, kills, { wallet: WALLET });
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    const [payout] = run.body.payouts as Array<{ payoutId: string; userId: string }>;
    expect(payout.userId).toBe(userId);
    await synced(app);
    return { userId, payoutId: payout.payoutId };
  }

  /** A requested payout whose only attempt the node refused: with maxAttempts 1 it is failed at once. */
  async function failedPayout(app: TestApp, kills: number): Promise<{ userId: string; payoutId: string }> {
    const payout = await requestedPayout(app, kills);
    const decision = await runUserCommand(
      app.store,
      payout.userId,
      {
        type: 'RecordPayoutAttemptFailed',
        data: {
          payoutId: payout.payoutId,
          attempt: 1,
          error: 'Block is invalid',
          blockHash: null,
          policy: { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
          now: new Date(),
        },
      },
      { correlationId: randomUUID(), causationId: payout.payoutId, actor: { kind: 'system', name: 'payout-executor' } },
    );
    expect(decision.events.map((event) => event.type)).toEqual(['PayoutAttemptFailed', 'PayoutFailed']);
    await synced(app);
    return payout;
  }

  const userEvents = (app: TestApp, userId: string): Promise<readonly RecordedEvent[]> => app.store.readStream(toStreamName(userId));
  const eventCount = async (app: TestApp): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));

  it('retries a failed payout, recording the admin and the client IP; a second retry appends nothing, a cancel of it is 409', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await failedPayout(app, 30);

      const retried = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/retry`, undefined, { 'x-request-id': 'retry-request-1' });
      const events = await userEvents(app, userId);
      const before = await eventCount(app);
      const again = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
      const cancelPending = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: 'changed my mind' });

      expect(retried.status).toBe(200);
      expect(retried.contentType).toMatch(/^application\/json/);
      expect(retried.body).toEqual({ payoutId, userId, status: 'pending', position: expect.stringMatching(/^\d+$/) });
      const last = events.at(-1) as RecordedEvent;
      expect(last.type).toBe('PayoutRetryRequested');
      expect(last.data).toMatchObject({ payoutId, userId });
      expect(last.position.toString()).toBe(retried.body.position);
      expect(last.metadata).toMatchObject({ actor: TEST_ADMIN, correlationId: 'retry-request-1', causationId: null, clientIp: '127.0.0.1' });
      // What the second retry asks for is true already (STYLE habit 4): 200, and nothing appended.
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ payoutId, userId, status: 'pending', position: retried.body.position });
      expect(refusal(cancelPending)).toEqual({ status: 409, problem: true, code: 'payout_not_failed' });
      expect(await eventCount(app)).toBe(before);
    });
  });

  it('retries a failed payout once when two admins retry it at once, and cancels it once when two cancel it at once', async () => {
    await withApp(async (app) => {
      const first = await failedPayout(app, 20);
      const second = await failedPayout(app, 25);

      const retries = await Promise.all([0, 1].map(() => call(app, 'POST', `/v1/admin/payouts/${first.payoutId}/retry`)));
      const cancels = await Promise.all(['lost wallet', 'player left'].map((reason) => call(app, 'POST', `/v1/admin/payouts/${second.payoutId}/cancel`, { reason })));
      await synced(app);
      const retryEvents = (await userEvents(app, first.userId)).filter((event) => event.type === 'PayoutRetryRequested');
      const cancelEvents = (await userEvents(app, second.userId)).filter((event) => event.type === 'PayoutCancelled');
      const cancelledView = await call(app, 'GET', `/v1/payouts/${second.payoutId}`);

      expect(retries.map((answer) => [answer.status, answer.body.status])).toEqual([[200, 'pending'], [200, 'pending']]);
      expect(cancels.map((answer) => [answer.status, answer.body.status])).toEqual([[200, 'cancelled'], [200, 'cancelled']]);
      expect(retryEvents).toHaveLength(1);
      expect(cancelEvents).toHaveLength(1);
      // The reason recorded is the one that cancelled it; the read model shows that one.
      expect(cancelledView.body).toMatchObject({ status: 'cancelled', cancelReason: cancelEvents[0].data.reason });
    });
  });

  it('cancels a failed payout with its reason, and a later settlement pays the same kills once, under a new payout with the same key', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await failedPayout(app, 30);

      const cancelled = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: '  wallet closed by the player  ' });
      const afterCancel = await userEvents(app, userId);
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      await synced(app);
      const executed = await app.workers.payoutExecutor?.runOnce();
      const events = await userEvents(app, userId);
      const retryAfterCancel = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
      const cancelAgain = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: 'again' });

      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toEqual({ payoutId, userId, status: 'cancelled', position: expect.stringMatching(/^\d+$/) });
      const last = afterCancel.at(-1) as RecordedEvent;
      expect(last.type).toBe('PayoutCancelled');
      // The reason is stored trimmed.
      expect(last.data).toMatchObject({ payoutId, userId, reason: 'wallet closed by the player', kills: 30 });
      expect(last.metadata).toMatchObject({ actor: TEST_ADMIN, clientIp: '127.0.0.1' });

      expect(run.body).toMatchObject({ payoutsRequested: 1, killsRequested: 30 });
      const [again] = run.body.payouts as Array<{ payoutId: string; userId: string }>;
      expect(again.userId).toBe(userId);
      expect(again.payoutId).not.toBe(payoutId);
      expect(executed).toMatchObject({ sent: 1 });
      const requested = events.filter((event) => event.type === 'PayoutRequested');
      const sent = events.filter((event) => event.type === 'PayoutSent');
      expect(requested.map((event) => event.data.payoutId)).toEqual([payoutId, again.payoutId]);
      // The key is SPEC §4.3's, the covered accrual ids alone: the cancelled payout is not live, so
      // its kills are paid again under the same key.
      const covered = (requested[0].data.accruals as Array<{ accrualId: string }>).map((accrual) => accrual.accrualId).sort();
      const specKey = createHash('sha256').update(covered.join(',')).digest('hex');
      expect(requested.map((event) => event.data.idempotencyKey)).toEqual([specKey, specKey]);
      expect(sent.map((event) => [event.data.payoutId, event.data.kills])).toEqual([[again.payoutId, 30]]);
      expect(refusal(retryAfterCancel)).toEqual({ status: 409, problem: true, code: 'payout_not_failed' });
      // Cancelled already: 200, nothing appended, and the first reason stays.
      expect(cancelAgain.status).toBe(200);
      expect(cancelAgain.body).toMatchObject({ payoutId, userId, status: 'cancelled' });
      const reasons = (await userEvents(app, userId)).filter((event) => event.type === 'PayoutCancelled').map((event) => event.data.reason);
      expect(reasons).toEqual(['wallet closed by the player']);
    });
  });

  it('asks the node about the blocks of the stream it cancels against: a retry and a new block meanwhile refuse the cancel', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await requestedPayout(app, 30);
      const metadata = { correlationId: randomUUID(), causationId: payoutId, actor: { kind: 'system' as const, name: 'payout-executor' } };
      const policy = { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };
      const [firstBlock, secondBlock] = ['A1'.repeat(32), 'B2'.repeat(32)];
      const refuse = (attempt: number, blockHash: string) =>
        runUserCommand(app.store, userId, { type: 'RecordPayoutAttemptFailed', data: { payoutId, attempt, error: 'Fork', blockHash, policy, now: new Date() } }, metadata);
      await refuse(1, firstBlock);
      await synced(app);
      // While the cancel asks the node about the first block, another admin retries the payout
      // and its second attempt's block is recorded refused, though that block is on the chain.
      const asked: string[] = [];
      const blockInfo = async (hash: string): Promise<{ hash: string } | null> => {
        asked.push(hash);
        if (hash === firstBlock && asked.length === 1) {
          await runUserCommand(app.store, userId, { type: 'RetryPayout', data: { payoutId, now: new Date() } }, { ...metadata, actor: { kind: 'admin' as const, name: 'test-all' } });
          await refuse(2, secondBlock);
        }
        return hash === secondBlock ? { hash } : null;
      };
      const banano = { rpc: { blockInfo } } as unknown as BananoGateway;
      const handler = new CancelPayoutHandler(app.store, app.pool, banano);
      const command = new CancelPayoutCommand(payoutId, 'wallet closed', { ...metadata, actor: { kind: 'admin' as const, name: 'test-all' } });

      await expect(handler.execute(command)).rejects.toMatchObject({ code: 'payout_block_on_chain', status: 409 });
      expect(asked).toContain(secondBlock);
      expect((await userEvents(app, userId)).filter((event) => event.type === 'PayoutCancelled')).toEqual([]);
    });
  });

  it('refuses a cancel reason that is missing, empty, too long or not a string with 422, appending nothing', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await failedPayout(app, 12);
      const path = `/v1/admin/payouts/${payoutId}/cancel`;
      const before = await eventCount(app);

      const answers = {
        noBody: refusal(await call(app, 'POST', path)),
        missing: refusal(await call(app, 'POST', path, {})),
        nullReason: refusal(await call(app, 'POST', path, { reason: null })),
        empty: refusal(await call(app, 'POST', path, { reason: '' })),
        blank: refusal(await call(app, 'POST', path, { reason: ' \t\n ' })),
        tooLong: refusal(await call(app, 'POST', path, { reason: 'x'.repeat(501) })),
        number: refusal(await call(app, 'POST', path, { reason: 42 })),
        array: refusal(await call(app, 'POST', path, { reason: ['stuck'] })),
        unknownProperty: refusal(await call(app, 'POST', path, { reason: 'stuck', force: true })),
      };
      const countAfterRefusals = await eventCount(app);
      const longest = await call(app, 'POST', path, { reason: `  ${'x'.repeat(500)}  ` });

      expect(answers).toEqual({
        noBody: { status: 422, problem: true, code: 'invalid_request_body' },
        missing: { status: 422, problem: true, code: 'reason_required' },
        nullReason: { status: 422, problem: true, code: 'reason_required' },
        empty: { status: 422, problem: true, code: 'invalid_reason' },
        blank: { status: 422, problem: true, code: 'invalid_reason' },
        tooLong: { status: 422, problem: true, code: 'invalid_reason' },
        number: { status: 422, problem: true, code: 'invalid_reason' },
        array: { status: 422, problem: true, code: 'invalid_reason' },
        unknownProperty: { status: 422, problem: true, code: 'unknown_property' },
      });
      expect(countAfterRefusals).toBe(before);
      expect(longest.status).toBe(200);
      expect((await userEvents(app, userId)).at(-1)?.data.reason).toBe('x'.repeat(500));
    });
  });

  it('refuses a retry with a body other than none or {}, appending nothing, so a client that sends {"force":true} is not told it was taken', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await failedPayout(app, 25);
      const path = `/v1/admin/payouts/${payoutId}/retry`;
      const before = await eventCount(app);

      const answers = {
        force: refusal(await call(app, 'POST', path, { force: true })),
        reason: refusal(await call(app, 'POST', path, { reason: 'node was down' })),
        array: refusal(await call(app, 'POST', path, [1])),
        number: refusal(await call(app, 'POST', path, 123)),
      };
      const countAfterRefusals = await eventCount(app);
      const statusAfterRefusals = (await call(app, 'GET', `/v1/payouts/${payoutId}`)).body.status;
      const retried = await call(app, 'POST', path, {});

      expect(answers).toEqual({
        force: { status: 422, problem: true, code: 'unknown_property' },
        reason: { status: 422, problem: true, code: 'unknown_property' },
        array: { status: 422, problem: true, code: 'invalid_request_body' },
        number: { status: 422, problem: true, code: 'invalid_request_body' },
      });
      expect(countAfterRefusals).toBe(before);
      expect(statusAfterRefusals).toBe('failed');
      expect(retried.body).toMatchObject({ payoutId, userId, status: 'pending' });
      expect((await userEvents(app, userId)).at(-1)?.type).toBe('PayoutRetryRequested');
    });
  });

  it('answers 404 payout_not_found for an unknown payout and 422 invalid_payout_id for a malformed id', async () => {
    await withApp(async (app) => {
      const unknown = randomUUID();
      expect(refusal(await call(app, 'POST', `/v1/admin/payouts/${unknown}/retry`))).toEqual({ status: 404, problem: true, code: 'payout_not_found' });
      expect(refusal(await call(app, 'POST', `/v1/admin/payouts/${unknown}/cancel`, { reason: 'stuck' }))).toEqual({
        status: 404,
        problem: true,
        code: 'payout_not_found',
      });
      expect(refusal(await call(app, 'POST', '/v1/admin/payouts/nope/retry'))).toEqual({ status: 422, problem: true, code: 'invalid_payout_id' });
      expect(refusal(await call(app, 'POST', '/v1/admin/payouts/nope/cancel', { reason: 'stuck' }))).toEqual({
        status: 422,
        problem: true,
        code: 'invalid_payout_id',
      });
      expect(await eventCount(app)).toBe(0);
    });
  });

  it('refuses to retry or cancel a sent payout with 409 payout_not_failed, appending nothing', async () => {
    await withApp(async (app) => {
      const { userId, payoutId } = await requestedPayout(app, 20);
      expect(await app.workers.payoutExecutor?.runOnce()).toMatchObject({ sent: 1 });
      await synced(app);
      const before = await eventCount(app);

      const retried = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
      const cancelled = await call(app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: 'stuck' });

      expect((await userEvents(app, userId)).at(-1)?.type).toBe('PayoutSent');
      expect(refusal(retried)).toEqual({ status: 409, problem: true, code: 'payout_not_failed' });
      expect(refusal(cancelled)).toEqual({ status: 409, problem: true, code: 'payout_not_failed' });
      expect(await eventCount(app)).toBe(before);
    });
  });
});
