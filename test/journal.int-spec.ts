import { randomUUID } from 'node:crypto';
import { type CommonQueryMethods, sql } from 'slonik';
import { allProjections, Projector, resetProjection } from '../projections';
import { journalProjection } from '../projections/journal/journal.projection';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { toStreamName } from '../src/identity/user/user.stream';
import { operatorStream } from '../src/payouts/operator/operator.events';
import { type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { RAW_PER_BAN } from '../src/platform/money';
import { waitForCheckpoint } from '../src/platform/read-models/checkpoints';
import { journalBalances, trialBalance, unbalancedEntries, userJournalBalances } from '../src/treasury/journal/journal-balances';
import { recordReceive } from './support/receive-record';
import { call, newBananoAccount } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const SCENARIO_TIMEOUT_MS = 120_000;
const DONATION_RAW = 150n * RAW_PER_BAN;
const FUNDING_RAW = 2_000n * RAW_PER_BAN + 7n;
const EVENTS_READ_MAX = 10_000;

/**
 * The double-entry journal over a whole dry-run history, end to end: players accrue over HTTP, an
 * admin settlement requests payouts, the dry-run executor sends two of them, one fails and an
 * admin cancels it, its kills are claimed again, and the operator stream receives a donation and
 * funding. The history is made once; each test reads it, and leaves the tables as it found them.
 */
describe('journal: the double-entry read model', () => {
  let app: TestApp;
  let operatorAddress = '';
  /** Amounts as the HTTP API answered them, the oracle the journal is checked against. */
  const accrued = { a1: 0n, a2: 0n, b: 0n, c: 0n };
  const users = { a: '', b: '', c: '' };
  const payouts = { cancelled: '', reclaimed: '' };

  let discordSequence = 720_000_000_000_000_000n;
  let epicSequence = 0;

  /** A verified player with a fresh wallet who has accrued `kills` kills two minutes ago; answers the accrual's raw. */
  async function player(kills: number): Promise<{ userId: string; amountRaw: bigint }> {
    discordSequence += 1n;
    epicSequence += 1;
    const { body } = await call(app, 'POST', '/v1/users', { discordUserId: discordSequence.toString() });
    const userId = body.userId as string;
    await call(app, 'PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: epicSequence.toString(16).padStart(32, 'f'), lifetimeKills: 0 });
    await call(app, 'PUT', `/v1/users/${userId}/wallet`, { address: (await newBananoAccount()).address });
    return { userId, amountRaw: await observe(userId, kills, new Date(Date.now() - 120_000)) };
  }

  async function observe(userId: string, lifetimeKills: number, observedAt: Date): Promise<bigint> {
    const answer = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills, observedAt: observedAt.toISOString() });
    expect(answer.status).toBe(202);
    return BigInt((answer.body.accrual as { amountRaw: string }).amountRaw);
  }

  /** Records a send to the operator account as the donation ingester would, without a node. */
  async function receive(kind: 'DonationReceived' | 'FundingReceived', amountRaw: bigint): Promise<void> {
    const sender = (await newBananoAccount()).address;
    await recordReceive(app.store, { address: operatorAddress, kind, sender, amountRaw, actorName: 'journal-test' });
  }

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    operatorAddress = (await newBananoAccount()).address;

    // Given three players who accrued, and a donation to the operator.
    const a = await player(30);
    const b = await player(12);
    const c = await player(20);
    Object.assign(users, { a: a.userId, b: b.userId, c: c.userId });
    Object.assign(accrued, { a1: a.amountRaw, b: b.amountRaw, c: c.amountRaw });
    await receive('DonationReceived', DONATION_RAW);
    await synced(app);

    // When a settlement requests their payouts, C's is refused by the node and fails,
    const first = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(first.body).toMatchObject({ payoutsRequested: 3 });
    const requested = first.body.payouts as Array<{ payoutId: string; userId: string; amountRaw: string }>;
    // Each payout covers its user's whole accrual, well under the kill caps.
    expect(Object.fromEntries(requested.map((payout) => [payout.userId, BigInt(payout.amountRaw)]))).toEqual({
      [users.a]: accrued.a1,
      [users.b]: accrued.b,
      [users.c]: accrued.c,
    });
    payouts.cancelled = (requested.find((payout) => payout.userId === users.c) as { payoutId: string }).payoutId;
    const failed = await runUserCommand(
      app.store,
      users.c,
      {
        type: 'RecordPayoutAttemptFailed',
        data: {
          payoutId: payouts.cancelled,
          attempt: 1,
          error: 'Block is invalid',
          blockHash: null,
          policy: { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
          now: new Date(),
        },
      },
      { correlationId: randomUUID(), causationId: payouts.cancelled, actor: { kind: 'system', name: 'payout-executor' } },
    );
    expect(failed.events.map((event) => event.type)).toEqual(['PayoutAttemptFailed', 'PayoutFailed']);
    await synced(app);

    // the dry-run executor sends the other two, an admin cancels C's,
    expect(await app.workers.payoutExecutor?.runOnce()).toEqual({ sent: 2, failed: 0 });
    const cancelled = await call(app, 'POST', `/v1/admin/payouts/${payouts.cancelled}/cancel`, { reason: 'node refused the block' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    await synced(app);

    // a second settlement claims C's kills again (that payout stays in flight), funding arrives,
    const second = await call(app, 'POST', '/v1/admin/settlements', {});
    const [reclaimed] = second.body.payouts as Array<{ payoutId: string; userId: string; amountRaw: string }>;
    expect(second.body).toMatchObject({ payoutsRequested: 1 });
    expect(reclaimed).toMatchObject({ userId: users.c, amountRaw: accrued.c.toString() });
    payouts.reclaimed = reclaimed.payoutId;
    await receive('FundingReceived', FUNDING_RAW);

    // and A accrues again, which nothing has claimed yet.
    accrued.a2 = await observe(users.a, 45, new Date());
    await synced(app);
  }, SCENARIO_TIMEOUT_MS);

  afterAll(async () => {
    await app?.close();
  });

  const entries = () =>
    app.pool.any(sql.unsafe`SELECT entry_id, position::text, stream_name, event_type, kind, user_id, payout_id, reverses_entry_id,
                                     occurred_at, description
                                FROM journal_entries ORDER BY position, entry_id`);
  const postings = () =>
    app.pool.any(sql.unsafe`SELECT entry_id, line, account, amount_raw FROM journal_postings ORDER BY entry_id, line`);
  const postingsOf = (entryId: string) =>
    app.pool.any(sql.unsafe`SELECT line, account, amount_raw::text AS "amountRaw" FROM journal_postings WHERE entry_id = ${entryId} ORDER BY line`);
  /** The database's message when `work` is refused; 'committed' when it is not. */
  async function refusal(work: Promise<unknown>): Promise<string> {
    try {
      await work;
      return 'committed';
    } catch (error) {
      // slonik wraps some of the driver's errors: PostgreSQL's own message is the innermost cause's.
      let innermost = error as { cause?: unknown; message?: unknown };
      while (typeof innermost.cause === 'object' && innermost.cause !== null) innermost = innermost.cause as typeof innermost;
      return String(innermost.message);
    }
  }
  const journalEvents = (): Promise<RecordedEvent[]> =>
    app.store.readAll({ fromPosition: null, maxCount: EVENTS_READ_MAX, filter: journalProjection.filter });

  it('balances to zero, with every entry balanced and one entry per event that moves money', async () => {
    const total = await trialBalance(app.pool);
    const unbalanced = await unbalancedEntries(app.pool);
    const types = await app.pool.any(
      sql.unsafe`SELECT event_type AS "type", count(*)::int AS entries FROM journal_entries GROUP BY event_type ORDER BY event_type`,
    );
    const postingCounts = await app.pool.anyFirst(sql.unsafe`SELECT count(*)::int FROM journal_postings GROUP BY entry_id`);
    const historyTypes = new Set((await journalEvents()).map((event) => event.type));

    expect(total).toBe(0n);
    expect(unbalanced).toEqual([]);
    // KillsObserved, PayoutAttemptFailed, PayoutFailed, MilestoneReached and the rest are in the
    // history and book nothing.
    for (const type of ['KillsObserved', 'PayoutAttemptFailed', 'PayoutFailed', 'MilestoneReached']) expect(historyTypes).toContain(type);
    expect(types).toEqual([
      { type: 'AccrualRecorded', entries: 4 },
      { type: 'DonationReceived', entries: 1 },
      { type: 'FundingReceived', entries: 1 },
      { type: 'PayoutCancelled', entries: 1 },
      { type: 'PayoutRequested', entries: 4 },
      { type: 'PayoutSent', entries: 2 },
    ]);
    expect(postingCounts).toEqual(Array.from({ length: 13 }, () => 2));
  });

  it('derives the operator wallet, the expense, the liabilities and the equity the HTTP API implies', async () => {
    const balances = await journalBalances(app.pool);
    const accruedTotal = accrued.a1 + accrued.a2 + accrued.b + accrued.c;
    const sent = accrued.a1 + accrued.b;

    expect(accrued.a1 > 0n && accrued.a2 > 0n && accrued.b > 0n && accrued.c > 0n).toBe(true);
    expect(balances).toEqual({
      operatorWalletRaw: DONATION_RAW + FUNDING_RAW - sent,
      rewardsExpenseRaw: accruedTotal,
      payableRaw: accrued.a2,
      inFlightRaw: accrued.c,
      donationsRaw: DONATION_RAW,
      fundingRaw: FUNDING_RAW,
    });
    // The accounting equation: assets + expenses = liabilities + equity.
    expect(balances.operatorWalletRaw + balances.rewardsExpenseRaw).toBe(
      balances.payableRaw + balances.inFlightRaw + balances.donationsRaw + balances.fundingRaw,
    );
    expect(balances.payableRaw + balances.inFlightRaw + sent).toBe(balances.rewardsExpenseRaw);
  });

  it('gives each user payable, in flight and paid that sum to what they accrued, and paid as the user read model has it', async () => {
    const [a, b, c] = await Promise.all([users.a, users.b, users.c].map((userId) => userJournalBalances(app.pool, userId)));
    const readModel = await Promise.all(
      [users.a, users.b, users.c].map(async (userId) => BigInt((await call(app, 'GET', `/v1/users/${userId}`)).body.totalPaidRaw as string)),
    );
    const stranger = await userJournalBalances(app.pool, randomUUID());

    expect(a).toEqual({ payableRaw: accrued.a2, inFlightRaw: 0n, paidRaw: accrued.a1 });
    expect(b).toEqual({ payableRaw: 0n, inFlightRaw: 0n, paidRaw: accrued.b });
    expect(c).toEqual({ payableRaw: 0n, inFlightRaw: accrued.c, paidRaw: 0n });
    expect(readModel).toEqual([a.paidRaw, b.paidRaw, c.paidRaw]);
    expect(stranger).toEqual({ payableRaw: 0n, inFlightRaw: 0n, paidRaw: 0n });
  });

  it('books a cancellation as a separate reversal entry of the claim, which stays as it was', async () => {
    const stream = await app.store.readStream(toStreamName(users.c));
    const claimEvent = stream.find((event) => event.type === 'PayoutRequested' && event.data.payoutId === payouts.cancelled) as RecordedEvent;
    const cancelEvent = stream.find((event) => event.type === 'PayoutCancelled') as RecordedEvent;
    const ofPayout = await app.pool.any(
      sql.unsafe`SELECT entry_id AS "entryId", event_type AS "eventType", kind, reverses_entry_id AS "reversesEntryId", user_id AS "userId"
                   FROM journal_entries WHERE payout_id = ${payouts.cancelled} ORDER BY position`,
    );
    const reclaim = await app.pool.oneFirst(
      sql.unsafe`SELECT entry_id FROM journal_entries WHERE payout_id = ${payouts.reclaimed} AND event_type = 'PayoutRequested'`,
    );
    const amount = accrued.c.toString();

    expect(ofPayout).toEqual([
      { entryId: claimEvent.id, eventType: 'PayoutRequested', kind: 'standard', reversesEntryId: null, userId: users.c },
      { entryId: cancelEvent.id, eventType: 'PayoutCancelled', kind: 'reversal', reversesEntryId: claimEvent.id, userId: users.c },
    ]);
    expect(await postingsOf(claimEvent.id)).toEqual([
      { line: 1, account: `liability:payable:${users.c}`, amountRaw: amount },
      { line: 2, account: `liability:in_flight:${users.c}`, amountRaw: `-${amount}` },
    ]);
    expect(await postingsOf(cancelEvent.id)).toEqual([
      { line: 1, account: `liability:payable:${users.c}`, amountRaw: `-${amount}` },
      { line: 2, account: `liability:in_flight:${users.c}`, amountRaw: amount },
    ]);
    // The kills claimed again are a new claim of their own.
    expect(await postingsOf(reclaim)).toEqual(await postingsOf(claimEvent.id));
  });

  it('pays a sent payout from the operator wallet, and books donations and funding into their equity', async () => {
    const sent = await app.pool.many(
      sql.unsafe`SELECT entry_id, user_id AS "userId" FROM journal_entries WHERE event_type = 'PayoutSent' ORDER BY user_id`,
    );
    const received = await app.pool.many(
      sql.unsafe`SELECT e.event_type AS "eventType", e.stream_name AS "streamName", e.user_id AS "userId", p.line, p.account, p.amount_raw::text AS "amountRaw"
                   FROM journal_entries e JOIN journal_postings p ON p.entry_id = e.entry_id
                  WHERE e.event_type IN ('DonationReceived', 'FundingReceived') ORDER BY e.position, p.line`,
    );
    const amountOf = { [users.a]: accrued.a1.toString(), [users.b]: accrued.b.toString() };
    const stream = operatorStream(operatorAddress);

    expect(sent.map((row) => row.userId).sort()).toEqual([users.a, users.b].sort());
    for (const row of sent) {
      const userId = row.userId as string;
      expect(await postingsOf(row.entry_id as string)).toEqual([
        { line: 1, account: `liability:in_flight:${userId}`, amountRaw: amountOf[userId] },
        { line: 2, account: 'asset:operator_wallet', amountRaw: `-${amountOf[userId]}` },
      ]);
    }
    expect(received).toEqual([
      { eventType: 'DonationReceived', streamName: stream, userId: null, line: 1, account: 'asset:operator_wallet', amountRaw: DONATION_RAW.toString() },
      { eventType: 'DonationReceived', streamName: stream, userId: null, line: 2, account: 'equity:donations', amountRaw: `-${DONATION_RAW}` },
      { eventType: 'FundingReceived', streamName: stream, userId: null, line: 1, account: 'asset:operator_wallet', amountRaw: FUNDING_RAW.toString() },
      { eventType: 'FundingReceived', streamName: stream, userId: null, line: 2, account: 'equity:funding', amountRaw: `-${FUNDING_RAW}` },
    ]);
  });

  it('changes nothing when a batch is applied twice, or replayed from the cancellation on', async () => {
    const before = { entries: await entries(), postings: await postings() };
    const everything = await journalEvents();
    const fromCancel = everything.slice(everything.findIndex((event) => event.type === 'PayoutCancelled'));

    await app.pool.transaction((transaction) => journalProjection.apply(transaction, everything));
    await app.pool.transaction(async (transaction) => {
      await journalProjection.apply(transaction, fromCancel);
      await journalProjection.apply(transaction, fromCancel);
    });

    expect(before.entries).toHaveLength(13);
    expect(fromCancel.map((event) => event.type)).toContain('PayoutRequested');
    expect(await entries()).toEqual(before.entries);
    expect(await postings()).toEqual(before.postings);
    expect(await trialBalance(app.pool)).toBe(0n);
  });

  it('finds an unbalanced entry, and the database refuses to commit it, an entry without postings, an orphan posting or an edit', async () => {
    const entryId = randomUUID();
    const insertEntry = (connection: CommonQueryMethods, id: string) =>
      connection.query(sql.unsafe`INSERT INTO journal_entries (entry_id, position, stream_name, event_type, kind, occurred_at, description)
                                  VALUES (${id}, 0, 'test', 'Test', 'standard', now(), 'test entry')`);
    const seen: { unbalanced: readonly string[]; total: bigint | null } = { unbalanced: [], total: null };

    const unbalancedCommit = app.pool.transaction(async (transaction) => {
      await insertEntry(transaction, entryId);
      await transaction.query(sql.unsafe`INSERT INTO journal_postings (entry_id, line, account, amount_raw)
                                         VALUES (${entryId}, 1, 'expense:rewards', 5), (${entryId}, 2, 'equity:funding', -4)`);
      seen.unbalanced = await unbalancedEntries(transaction);
      seen.total = await trialBalance(transaction);
    });
    const refusals = {
      unbalanced: await refusal(unbalancedCommit),
      noPostings: await refusal(app.pool.transaction((transaction) => insertEntry(transaction, randomUUID()))),
      orphanPostings: await refusal(
        app.pool.transaction((transaction) =>
          transaction.query(sql.unsafe`INSERT INTO journal_postings (entry_id, line, account, amount_raw)
                                       VALUES (${entryId}, 1, 'expense:rewards', 5), (${entryId}, 2, 'equity:funding', -5)`),
        ),
      ),
      update: await refusal(app.pool.transaction((transaction) => transaction.query(sql.unsafe`UPDATE journal_postings SET amount_raw = amount_raw * 2`))),
      delete: await refusal(app.pool.transaction((transaction) => transaction.query(sql.unsafe`DELETE FROM journal_entries`))),
    };

    expect(refusals).toEqual({
      unbalanced: `journal entry ${entryId} is unbalanced: 2 postings summing to 1`,
      noPostings: expect.stringMatching(/^journal entry [0-9a-f-]{36} is unbalanced: 0 postings summing to 0$/),
      orphanPostings: `journal posting of entry ${entryId} has no entry`,
      update: 'journal_postings is append-only: a correction is a reversal entry, never an edit',
      delete: 'journal_entries is append-only: a correction is a reversal entry, never an edit',
    });
    expect(seen).toEqual({ unbalanced: [entryId], total: 1n });
    expect(await unbalancedEntries(app.pool)).toEqual([]);
    expect(await trialBalance(app.pool)).toBe(0n);
    expect(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM journal_entries`)).toBe(13);
  });

  it('rebuilds the same rows from position zero, in small batches', async () => {
    const live = { entries: await entries(), postings: await postings() };
    // The app's own runner is idle at the head and reads its checkpoint only when new events come.
    await resetProjection(app.pool, journalProjection);
    const emptied = await entries();
    const rebuilder = new Projector(app.pool, app.store, [journalProjection], { batchSizeMax: 3 });
    rebuilder.start();
    try {
      const head = (await app.store.headPosition()) as bigint;
      expect(await waitForCheckpoint(app.pool, journalProjection.name, head, 15_000)).toBe(true);
    } finally {
      await rebuilder.stop();
    }

    expect(emptied).toEqual([]);
    expect(await entries()).toEqual(live.entries);
    expect(await postings()).toEqual(live.postings);
    expect(allProjections).toContain(journalProjection);
  });
});
