import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { allProjections, Projector, resetProjection } from '../projections';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { type PayoutRetryPolicy, type UserCommand } from '../src/identity/user/user.decider';
import { type UserEvent } from '../src/identity/user/user.events';
import { dryRunSentRaw, dryRunSpendable, loadEligibleUsers } from '../src/payouts/run-settlement/settlement-facts';
import { findPayout, type PayoutView } from '../src/payouts/payout.view';
import { idempotencyKey } from '../src/payouts/settlement/settlement-plan';
import { createDatabasePool } from '../src/platform/database/database';
import { RAW_PER_BAN } from '../src/platform/money';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { waitForCheckpoint } from '../src/platform/read-models/checkpoints';
import { ratePerKillRaw } from '../src/rewards/economics/rate';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** 0.05 BAN × 1.00 × 2.0000 = 0.1 BAN a kill. */
const RATE = { baseRaw: 5n * 10n ** 27n, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
const RATE_RAW = ratePerKillRaw(RATE);
const ABUSE = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };
/** Three failed attempts in a row fail the payout; waits of 1 s, then 2 s. */
const POLICY: PayoutRetryPolicy = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };
const DRY_RUN_START_RAW = 10_000n * RAW_PER_BAN;
const SYNC_TIMEOUT_MS = 15_000;

/** Failed attempts, failure, retry and cancel as the payouts and reward_accruals read models show them. */
describe('payout read models: attempts, failure, retry and cancel', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let store: PostgresEventStore;
  let projector: Projector;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
    projector = new Projector(pool, store, allProjections, { batchSizeMax: 50 });
    projector.start();
  });

  afterEach(async () => {
    await projector.stop();
    await store.close();
    await pool.end();
    await database.drop();
  });

  /** Every time in these histories is fixed, so the cap windows do not depend on the clock. */
  const t0 = Date.UTC(2026, 10, 4, 12, 0, 0);
  const at = (seconds: number): Date => new Date(t0 + seconds * 1_000);
  let discordSequence = 710_000_000_000_000_000n;

  async function run(userId: string, command: UserCommand): Promise<readonly UserEvent[]> {
    const decision = await runUserCommand(store, userId, command, {
      correlationId: randomUUID(),
      causationId: null,
      actor: { kind: 'system', name: 'payout-read-models-test' },
    });
    return decision.events;
  }

  /** A verified user with a wallet and one accrual per entry of `kills`, a minute apart, oldest first. */
  async function earner(kills: readonly number[]): Promise<{ userId: string; accrualIds: string[] }> {
    discordSequence += 1n;
    const userId = randomUUID();
    await run(userId, { type: 'RegisterUser', data: { userId, discordUserId: discordSequence.toString(), regionCode: null, now: at(0) } });
    await run(userId, {
      type: 'LinkEpicAccount',
      data: { epicAccountId: discordSequence.toString(16).padStart(32, 'e'), baselineKills: 0n, linkedToAnotherUser: false, formerHolderMark: null, rate: RATE, now: at(0) },
    });
    await run(userId, { type: 'LinkWallet', data: { address: `ban_1payout-of-${userId}`, primaryForAnotherUser: false, now: at(0) } });
    const accrualIds: string[] = [];
    let lifetime = 0;
    for (const [index, count] of kills.entries()) {
      lifetime += count;
      const observedAt = at(60 * (index + 1));
      const events = await run(userId, {
        type: 'ObserveKills',
        data: { lifetimeKills: BigInt(lifetime), observedAt, now: observedAt, rate: RATE, abuse: ABUSE },
      });
      const accrual = events.find((event) => event.type === 'AccrualRecorded');
      if (accrual?.type !== 'AccrualRecorded') throw new Error('The observation recorded no accrual');
      accrualIds.push(accrual.data.accrualId);
    }
    return { userId, accrualIds };
  }

  async function request(
    userId: string,
    covered: ReadonlyArray<{ accrualId: string; kills: number }>,
    key: string,
    seconds: number | Date = 600,
    gateway: 'dry-run' | 'live' = 'dry-run',
  ): Promise<string> {
    const payoutId = randomUUID();
    const kills = covered.reduce((sum, accrual) => sum + BigInt(accrual.kills), 0n);
    const events = await run(userId, {
      type: 'RequestPayout',
      data: {
        payoutId,
        runId: randomUUID(),
        gateway,
        address: `ban_1payout-of-${userId}`,
        kills,
        amountRaw: kills * RATE_RAW,
        idempotencyKey: key,
        accruals: covered.map((accrual) => ({ accrualId: accrual.accrualId, kills: BigInt(accrual.kills) })),
        requireVerifiedWallet: false,
        now: typeof seconds === 'number' ? at(seconds) : seconds,
      },
    });
    expect(events.map((event) => event.type)).toEqual(['PayoutRequested']);
    return payoutId;
  }

  const failAttempt = (userId: string, payoutId: string, attempt: number, seconds: number) =>
    run(userId, {
      type: 'RecordPayoutAttemptFailed',
      data: { payoutId, attempt, error: `node refused attempt ${attempt}`, blockHash: `refused-${attempt}`, policy: POLICY, now: at(seconds) },
    });
  /** Fails attempts `from` to `from + maxAttempts - 1`, 10 s apart starting at `seconds`: the last one fails the payout. */
  async function failOut(userId: string, payoutId: string, from: number, seconds: number): Promise<void> {
    for (let k = 0; k < POLICY.maxAttempts; k += 1) await failAttempt(userId, payoutId, from + k, seconds + 10 * k);
  }
  const send = (userId: string, payoutId: string, seconds: number, gateway: 'dry-run' | 'live' = 'dry-run') =>
    run(userId, { type: 'RecordPayoutSent', data: { payoutId, gateway, blockHash: `block-${payoutId}`, now: at(seconds) } });
  const retry = (userId: string, payoutId: string, seconds: number) => run(userId, { type: 'RetryPayout', data: { payoutId, now: at(seconds) } });
  const cancel = (userId: string, payoutId: string, seconds: number) =>
    run(userId, { type: 'CancelPayout', data: { payoutId, reason: 'wallet closed', now: at(seconds) } });

  /** Waits until every read model has applied everything stored so far. */
  async function synced(): Promise<void> {
    const head = await store.headPosition();
    if (head === null) return;
    for (const projection of allProjections) {
      if (!(await waitForCheckpoint(pool, projection.name, head, SYNC_TIMEOUT_MS))) {
        throw new Error(`${projection.name} did not reach position ${head.toString()}`);
      }
    }
  }

  async function payout(payoutId: string): Promise<PayoutView> {
    await synced();
    const view = await findPayout(pool, payoutId);
    if (view === null) throw new Error(`No payout ${payoutId} in the read model`);
    return view;
  }

  const accrual = (accrualId: string) =>
    pool.one(sql.unsafe`SELECT claimed_kills::int AS claimed, settled_kills::int AS settled, settled AS "settledWhole", payout_id AS "payoutId"
      FROM reward_accruals WHERE accrual_id = ${accrualId}`);
  const claimsOf = (payoutId: string) => pool.anyFirst(sql.unsafe`SELECT accrual_id FROM accrual_claims WHERE payout_id = ${payoutId}`);
  const eligible = async (userId: string, now = at(3_600)) => {
    await synced();
    const users = await loadEligibleUsers(pool, { requireVerifiedWallet: false, now });
    return users.find((user) => user.userId === userId) ?? null;
  };
  const sentTotal = async () => {
    await synced();
    return pool.maybeOneFirst(sql.unsafe`SELECT amount_raw::text FROM payout_totals WHERE total_name = 'sent'`);
  };

  it('records each failed attempt with its backoff, then fails the payout, which keeps its claim and blocks the user', async () => {
    const { userId, accrualIds } = await earner([20, 40]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]));
    const requested = await payout(payoutId);
    const eligibleWhilePending = await eligible(userId);

    await failAttempt(userId, payoutId, 1, 700);
    const first = await payout(payoutId);
    await failAttempt(userId, payoutId, 2, 710);
    const second = await payout(payoutId);
    await failAttempt(userId, payoutId, 3, 720);
    const failed = await payout(payoutId);
    const eligibleWhileFailed = await eligible(userId);
    const spendable = await dryRunSpendable(pool, DRY_RUN_START_RAW, 0n);

    expect(requested).toMatchObject({ status: 'pending', attemptCount: 0, firstAttemptAt: null, nextAttemptAt: null, lastError: null });
    expect(eligibleWhilePending).toBeNull();
    expect(first).toMatchObject({
      status: 'pending',
      attemptCount: 1,
      firstAttemptAt: at(700).toISOString(),
      lastAttemptAt: at(700).toISOString(),
      lastError: 'node refused attempt 1',
      nextAttemptAt: at(701).toISOString(),
      failedAt: null,
    });
    expect(second).toMatchObject({
      status: 'pending',
      attemptCount: 2,
      firstAttemptAt: at(700).toISOString(),
      lastAttemptAt: at(710).toISOString(),
      nextAttemptAt: at(712).toISOString(),
    });
    expect(failed).toMatchObject({
      status: 'failed',
      attemptCount: 3,
      lastAttemptAt: at(720).toISOString(),
      lastError: 'node refused attempt 3',
      nextAttemptAt: null,
      failedAt: at(720).toISOString(),
      cancelledAt: null,
      blockHash: null,
    });
    // The failed payout still claims its 20 kills; the user's other 40 would be payable but wait.
    expect(await accrual(accrualIds[0])).toEqual({ claimed: 20, settled: 0, settledWhole: false, payoutId });
    expect(await claimsOf(payoutId)).toEqual([accrualIds[0]]);
    expect(eligibleWhileFailed).toBeNull();
    expect(spendable).toBe(DRY_RUN_START_RAW - 20n * RATE_RAW);
  });

  it('puts a retried payout back to pending with no wait, and counts every attempt when it is sent', async () => {
    const { userId, accrualIds } = await earner([20]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]));
    await failOut(userId, payoutId, 1, 700);

    await retry(userId, payoutId, 800);
    const retried = await payout(payoutId);
    await failAttempt(userId, payoutId, 4, 810);
    const failedAgain = await payout(payoutId);
    await send(userId, payoutId, 820);
    const sent = await payout(payoutId);
    const user = await pool.one(sql.unsafe`SELECT last_settled_kill_count::int AS settled FROM users WHERE user_id = ${userId}`);

    expect(retried).toMatchObject({ status: 'pending', attemptCount: 3, nextAttemptAt: null, failedAt: null, lastError: 'node refused attempt 3' });
    expect(failedAgain).toMatchObject({ status: 'pending', attemptCount: 4, nextAttemptAt: at(811).toISOString(), lastAttemptAt: at(810).toISOString() });
    expect(sent).toMatchObject({
      status: 'sent',
      attemptCount: 5,
      firstAttemptAt: at(700).toISOString(),
      lastAttemptAt: at(820).toISOString(),
      nextAttemptAt: null,
      blockHash: `block-${payoutId}`,
      sentAt: at(820).toISOString(),
    });
    expect(await sentTotal()).toBe((20n * RATE_RAW).toString());
    expect(user).toEqual({ settled: 20 });
    expect(await accrual(accrualIds[0])).toEqual({ claimed: 20, settled: 20, settledWhole: true, payoutId });
  });

  it('changes nothing when a batch of the last failure, a retry and a new failed attempt is applied again', async () => {
    const { userId, accrualIds } = await earner([20]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]));
    await failOut(userId, payoutId, 1, 700);
    await retry(userId, payoutId, 800);
    await failAttempt(userId, payoutId, 4, 810);
    const once = await payout(payoutId);
    // The batch from the failure on, applied again, as after a crash before its acknowledgement.
    const everything = await store.readAll({ fromPosition: null, maxCount: 1_000 });
    const replayed = everything.slice(everything.findIndex((event) => event.type === 'PayoutFailed'));
    await projector.stop();
    for (const projection of allProjections) await pool.transaction((transaction) => projection.apply(transaction, replayed));

    expect(replayed.map((event) => event.type)).toEqual(['PayoutFailed', 'PayoutRetryRequested', 'PayoutAttemptFailed']);
    expect(once).toMatchObject({ status: 'pending', attemptCount: 4, lastError: 'node refused attempt 4', nextAttemptAt: at(811).toISOString() });
    expect(await findPayout(pool, payoutId)).toEqual(once);
  });

  it('shows 3 attempts for a payout sent after 2 failed ones, and a first send as 1', async () => {
    const { userId, accrualIds } = await earner([20, 30]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]));
    await failAttempt(userId, payoutId, 1, 700);
    await failAttempt(userId, payoutId, 2, 710);
    await send(userId, payoutId, 730);
    const next = await request(userId, [{ accrualId: accrualIds[1], kills: 30 }], idempotencyKey([accrualIds[1]]), 900);
    await send(userId, next, 905);

    expect(await payout(payoutId)).toMatchObject({
      status: 'sent',
      attemptCount: 3,
      firstAttemptAt: at(700).toISOString(),
      lastAttemptAt: at(730).toISOString(),
      lastError: 'node refused attempt 2',
      nextAttemptAt: null,
    });
    expect(await payout(next)).toMatchObject({ status: 'sent', attemptCount: 1, firstAttemptAt: at(905).toISOString(), lastAttemptAt: at(905).toISOString() });
  });

  it('raises the sent total once when a failed payout turns out sent, keeping its attempts', async () => {
    const { userId, accrualIds } = await earner([20]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]));
    await failOut(userId, payoutId, 1, 700);
    const totalWhileFailed = await sentTotal();

    await send(userId, payoutId, 900);
    const sent = await payout(payoutId);
    const total = await sentTotal();
    // A replayed batch applies every event again; the status guard keeps the total where it is.
    const everything = await store.readAll({ fromPosition: null, maxCount: 1_000 });
    await projector.stop();
    for (const projection of allProjections) await pool.transaction((transaction) => projection.apply(transaction, everything));

    expect(totalWhileFailed).toBeNull();
    // No attempt ran after the failure: the block of a refused attempt confirmed after all.
    expect(sent).toMatchObject({ status: 'sent', attemptCount: 3, failedAt: at(720).toISOString(), sentAt: at(900).toISOString() });
    expect(total).toBe((20n * RATE_RAW).toString());
    expect(await pool.oneFirst(sql.unsafe`SELECT amount_raw::text FROM payout_totals WHERE total_name = 'sent'`)).toBe(total);
    expect(await accrual(accrualIds[0])).toEqual({ claimed: 20, settled: 20, settledWhole: true, payoutId });
  });

  it('keeps the attempts made when the block of a refused attempt turns out on chain while the payout waits for its next attempt', async () => {
    // The executor, before signing attempt 2, finds attempt 1's block on the chain after all
    // (banano-payout-sender.ts send(): "make sure none is on the chain after all") and records
    // PayoutSent with that block: no second attempt was made, as when a failed payout's block
    // confirms (the case above).
    const { userId, accrualIds } = await earner([20]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], idempotencyKey([accrualIds[0]]), 600, 'live');
    await run(userId, {
      type: 'RecordPayoutAttemptFailed',
      data: { payoutId, attempt: 1, error: 'Fork', blockHash: 'A'.repeat(64), policy: POLICY, now: at(700) },
    });
    const events = await run(userId, { type: 'RecordPayoutSent', data: { payoutId, gateway: 'live', blockHash: 'A'.repeat(64), now: at(760) } });

    expect(events.map((event) => event.type)).toEqual(['PayoutSent']);
    expect(await payout(payoutId)).toMatchObject({
      status: 'sent',
      blockHash: 'A'.repeat(64),
      attemptCount: 1,
      firstAttemptAt: at(700).toISOString(),
      lastAttemptAt: at(700).toISOString(),
    });
  });

  it('takes only what dry runs sent off the simulated balance: a live payout left a real account', async () => {
    await synced();
    const before = await dryRunSpendable(pool, DRY_RUN_START_RAW, 0n);
    const sentBefore = await dryRunSentRaw(pool);
    const dry = await earner([10]);
    const live = await earner([20]);
    const dryPayout = await request(dry.userId, [{ accrualId: dry.accrualIds[0], kills: 10 }], idempotencyKey([dry.accrualIds[0]]));
    const livePayout = await request(live.userId, [{ accrualId: live.accrualIds[0], kills: 20 }], idempotencyKey([live.accrualIds[0]]), 600, 'live');
    await send(dry.userId, dryPayout, 700);
    await send(live.userId, livePayout, 700, 'live');
    await synced();

    expect(await dryRunSentRaw(pool)).toBe(sentBefore + 10n * RATE_RAW);
    expect(await dryRunSpendable(pool, DRY_RUN_START_RAW, 0n)).toBe(before - 10n * RATE_RAW);
  });

  it('releases a cancelled payout’s claim, so its kills are eligible and can be requested again under the same key', async () => {
    const { userId, accrualIds } = await earner([20]);
    const key = idempotencyKey([accrualIds[0]]);
    const payoutId = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], key);
    await failOut(userId, payoutId, 1, 700);

    await cancel(userId, payoutId, 800);
    const cancelled = await payout(payoutId);
    const released = await accrual(accrualIds[0]);
    const eligibleAgain = await eligible(userId);
    const spendable = await dryRunSpendable(pool, DRY_RUN_START_RAW, 0n);
    const again = await request(userId, [{ accrualId: accrualIds[0], kills: 20 }], key, 900);
    const reRequested = await payout(again);

    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledAt: at(800).toISOString(), cancelReason: 'wallet closed', nextAttemptAt: null, attemptCount: 3 });
    expect(released).toEqual({ claimed: 0, settled: 0, settledWhole: false, payoutId: null });
    expect(await claimsOf(payoutId)).toEqual([]);
    // The cancelled kills count against no cap any more.
    expect(eligibleAgain).toMatchObject({
      userId,
      accruals: [{ accrualId: accrualIds[0], unclaimedKills: 20n, claimedKills: 0n }],
      claimedToday: 0n,
      claimedThisWeek: 0n,
    });
    expect(spendable).toBe(DRY_RUN_START_RAW);
    expect(reRequested).toMatchObject({ status: 'pending', idempotencyKey: key, attemptCount: 0 });
    expect(await pool.anyFirst(sql.unsafe`SELECT status FROM payouts WHERE idempotency_key = ${key} ORDER BY requested_position`)).toEqual([
      'cancelled',
      'pending',
    ]);
    expect(await accrual(accrualIds[0])).toEqual({ claimed: 20, settled: 0, settledWhole: false, payoutId: again });
    expect(await eligible(userId)).toBeNull();
  });

  it('gives back only the cancelled part of a split accrual, once', async () => {
    const { userId, accrualIds } = await earner([40]);
    const [id] = accrualIds;
    const head = await request(userId, [{ accrualId: id, kills: 15 }], idempotencyKey([`${id}:15`]));
    await send(userId, head, 610);
    const tail = await request(userId, [{ accrualId: id, kills: 25 }], idempotencyKey([`${id}:40`]), 700);
    await failOut(userId, tail, 1, 710);
    await synced();
    const whileFailed = await accrual(id);

    await cancel(userId, tail, 800);
    await synced();
    const afterCancel = await accrual(id);
    const eligibleAgain = await eligible(userId);
    // A batch that ends with the cancellation is applied again, as after a crash before its ack.
    const everything = await store.readAll({ fromPosition: null, maxCount: 1_000 });
    const replayed = everything.slice(everything.findIndex((event) => event.type === 'PayoutCancelled'));
    await projector.stop();
    for (const projection of allProjections) await pool.transaction((transaction) => projection.apply(transaction, replayed));

    expect(replayed.map((event) => event.type)).toEqual(['PayoutCancelled']);
    expect(whileFailed).toEqual({ claimed: 40, settled: 15, settledWhole: false, payoutId: tail });
    expect(afterCancel).toEqual({ claimed: 15, settled: 15, settledWhole: false, payoutId: head });
    expect(eligibleAgain).toMatchObject({ accruals: [{ accrualId: id, unclaimedKills: 25n, claimedKills: 15n }], claimedToday: 15n });
    expect(await accrual(id)).toEqual(afterCancel);
  });

  it('counts claims in the UTC day and ISO week they were requested in, each payout once: a retried one, and kills cancelled and claimed again', async () => {
    // t0 is Wednesday 2026-11-04; the week after it begins on Monday 2026-11-09 00:00 UTC.
    const sunday = new Date('2026-11-08T23:59:59.999Z');
    const monday = new Date('2026-11-09T00:00:00.000Z');
    const tuesday = new Date('2026-11-10T08:00:00.000Z');
    const after = (date: Date, seconds: number): number => (date.getTime() - t0) / 1_000 + seconds;
    const { userId, accrualIds } = await earner([20, 20, 20]);
    const lastWeek = await request(userId, [{ accrualId: accrualIds[0], kills: 7 }], idempotencyKey([`${accrualIds[0]}:7`]), sunday);
    await send(userId, lastWeek, after(monday, 1));
    // Requested on Monday, retried and sent on Tuesday: one payout, claimed once, on Monday.
    const retried = await request(userId, [{ accrualId: accrualIds[0], kills: 13 }], idempotencyKey([`${accrualIds[0]}:20`]), monday);
    await failOut(userId, retried, 1, after(monday, 10));
    await retry(userId, retried, after(tuesday, 0));
    await send(userId, retried, after(tuesday, 10));
    // Cancelled, then the same kills claimed again: only the second claim counts.
    const key = idempotencyKey([accrualIds[1]]);
    const cancelled = await request(userId, [{ accrualId: accrualIds[1], kills: 20 }], key, new Date(tuesday.getTime() + 100_000));
    await failOut(userId, cancelled, 1, after(tuesday, 110));
    await cancel(userId, cancelled, after(tuesday, 150));
    const again = await request(userId, [{ accrualId: accrualIds[1], kills: 20 }], key, new Date(tuesday.getTime() + 200_000));
    await send(userId, again, after(tuesday, 210));

    const tuesdayNoon = await eligible(userId, new Date('2026-11-10T12:00:00.000Z'));
    const sundayEnd = await eligible(userId, new Date('2026-11-15T23:59:59.999Z'));
    const nextMonday = await eligible(userId, new Date('2026-11-16T00:00:00.000Z'));

    expect(tuesdayNoon).toMatchObject({ claimedToday: 20n, claimedThisWeek: 33n, accruals: [{ accrualId: accrualIds[2], unclaimedKills: 20n }] });
    expect(sundayEnd).toMatchObject({ claimedToday: 0n, claimedThisWeek: 33n });
    expect(nextMonday).toMatchObject({ claimedToday: 0n, claimedThisWeek: 0n });
  });

  it('counts the claims of an ISO week that spans two years in that one week: Monday 2026-12-28 to Sunday 2027-01-03', async () => {
    const { userId, accrualIds } = await earner([60]);
    const [id] = accrualIds;
    const requestedAt = ['2026-12-27T23:59:59.999Z', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'].map((iso) => new Date(iso));
    const kills = [7, 11, 13];
    let claimed = 0;
    for (const [index, date] of requestedAt.entries()) {
      claimed += kills[index];
      const payoutId = await request(userId, [{ accrualId: id, kills: kills[index] }], idempotencyKey([`${id}:${claimed}`]), date);
      await send(userId, payoutId, (date.getTime() - t0) / 1_000 + 1);
    }

    // 2027-01-01 is a Friday: its week began on Monday 2026-12-28, so Thursday's 11 kills count, Sunday's 7 do not.
    expect(await eligible(userId, new Date('2027-01-01T12:00:00.000Z'))).toMatchObject({ claimedToday: 13n, claimedThisWeek: 24n });
    expect(await eligible(userId, new Date('2027-01-03T23:59:59.999Z'))).toMatchObject({ claimedToday: 0n, claimedThisWeek: 24n });
    expect(await eligible(userId, new Date('2027-01-04T00:00:00.000Z'))).toMatchObject({ claimedToday: 0n, claimedThisWeek: 0n });
  });

  it('leaves a user with open medium and low flags eligible, and takes out one with an open high flag', async () => {
    const { userId } = await earner([20]);
    const shared = `ban_1shared-by-${userId}`;
    // 15 is below the 20 accrued (kills_decreased, med); the new wallet is another user's primary too (shared_wallet, low).
    await run(userId, { type: 'ObserveKills', data: { lifetimeKills: 15n, observedAt: at(120), now: at(120), rate: RATE, abuse: ABUSE } });
    await run(userId, { type: 'LinkWallet', data: { address: shared, primaryForAnotherUser: true, now: at(130) } });
    await synced();
    const flags = await pool.any(sql.unsafe`SELECT flag_type, severity FROM abuse_flags WHERE user_id = ${userId} AND status = 'open' ORDER BY raised_at`);
    const withMediumAndLow = await eligible(userId);

    // 600 new kills in one observation (impossible_delta, high).
    await run(userId, { type: 'ObserveKills', data: { lifetimeKills: 620n, observedAt: at(180), now: at(180), rate: RATE, abuse: ABUSE } });
    const withHigh = await eligible(userId);

    expect(flags).toEqual([
      { flag_type: 'kills_decreased', severity: 'med' },
      { flag_type: 'shared_wallet', severity: 'low' },
    ]);
    expect(withMediumAndLow).toMatchObject({ userId, address: shared });
    expect(withHigh).toBeNull();
  });

  it('rebuilds the same rows from position zero after a history of failures, retries, cancels and sends', async () => {
    const sentAfterFailures = await earner([20]);
    const first = await request(sentAfterFailures.userId, [{ accrualId: sentAfterFailures.accrualIds[0], kills: 20 }], 'key-1');
    await failAttempt(sentAfterFailures.userId, first, 1, 700);
    await send(sentAfterFailures.userId, first, 710);

    const retried = await earner([10, 10]);
    const second = await request(retried.userId, [{ accrualId: retried.accrualIds[0], kills: 10 }], 'key-2');
    await failOut(retried.userId, second, 1, 700);
    await retry(retried.userId, second, 800);
    await failAttempt(retried.userId, second, 4, 810);

    const cancelledThenAgain = await earner([40]);
    const [splitId] = cancelledThenAgain.accrualIds;
    const third = await request(cancelledThenAgain.userId, [{ accrualId: splitId, kills: 30 }], 'key-3');
    await failOut(cancelledThenAgain.userId, third, 1, 700);
    await cancel(cancelledThenAgain.userId, third, 800);
    const fourth = await request(cancelledThenAgain.userId, [{ accrualId: splitId, kills: 30 }], 'key-3', 900);
    await send(cancelledThenAgain.userId, fourth, 910);

    const failedForGood = await earner([5]);
    const fifth = await request(failedForGood.userId, [{ accrualId: failedForGood.accrualIds[0], kills: 5 }], 'key-5');
    await failOut(failedForGood.userId, fifth, 1, 700);
    await send(failedForGood.userId, fifth, 1_000);
    await synced();

    const tables = ['users', 'reward_accruals', 'accrual_claims', 'payouts', 'payout_totals'];
    const snapshot = async () =>
      Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await pool.any(sql.unsafe`SELECT * FROM ${sql.identifier([table])} ORDER BY 1, 2`)])));
    const live = await snapshot();
    await projector.stop();
    for (const projection of allProjections) await resetProjection(pool, projection);
    const emptied = await snapshot();
    projector = new Projector(pool, store, allProjections, { batchSizeMax: 3 });
    projector.start();
    await synced();

    expect(emptied.payouts).toEqual([]);
    expect((live.payouts as Array<{ status: string }>).map((row) => row.status).sort()).toEqual(['cancelled', 'pending', 'sent', 'sent', 'sent']);
    expect(live.payout_totals).toEqual([{ total_name: 'sent', amount_raw: ((20n + 30n + 5n) * RATE_RAW).toString() }]);
    expect(await snapshot()).toEqual(live);
  });
});
