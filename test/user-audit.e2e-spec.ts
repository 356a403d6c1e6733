import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { buildProgram } from '../src/cli.main';
import { type PayoutSettings } from '../src/admin/faucet-config/faucet-config.events';
import { userAsOf, userAuditOutput } from '../src/cli/user-audit.commands';
import { tailEvents } from '../src/cli/events.commands';
import { type AuditEntryJson } from '../src/identity/user-audit/user-audit-trail';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { type UserCommand } from '../src/identity/user/user.decider';
import { toStreamName, userIdFromDiscordId } from '../src/identity/user/user.stream';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { DomainError } from '../src/platform/errors/domain-error';
import { call, earner, type Earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { clearOfUtcMidnight } from './support/utc-clock';

/** Only the caps matter to an as-of answer; these are the environment's defaults. */
const PAYOUT_DEFAULTS: PayoutSettings = { banPerKillRaw: '5000000000000000000000000000', dailyKillCap: 150, weeklyKillCap: 750, minOperatorBalanceRaw: '0' };

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The fields GET /v1/users/:userId shares with an as-of answer (which adds asOf and position). */
function shared(view: Record<string, unknown>): Record<string, unknown> {
  const { asOf: _asOf, position: _position, ...rest } = view;
  return rest;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

/**
 * Issue 7: a user's audit trail with the balances after each event, the user's status as of a
 * time or position (CLI and GET /v1/users/:userId?asOf=), and `events tail`. A dry-run payout of
 * one player is settled in the middle, so "before" and "after" differ in the settled cursor.
 */
describe('user audit trail, as-of status and events tail', () => {
  let app: TestApp;
  let player: Earner;
  let before: { at: string; position: bigint };
  let after: { at: string; position: bigint };

  beforeAll(async () => {
    // From the payout to `after`, one UTC day: the caps it used up are counted on the day of each
    // answer, so a midnight between them would show them given back.
    await clearOfUtcMidnight(20_000);
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    player = await earner(app, 30);
    await synced(app);
    before = { at: await instantAfterEvents(), position: (await app.store.headPosition()) as bigint };
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(run.status).toBe(200);
    // The executor finds requested payouts in the payouts read model.
    await synced(app);
    expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
    await synced(app);
    after = { at: await instantAfterEvents(), position: (await app.store.headPosition()) as bigint };
  });

  afterAll(async () => {
    await app.close();
  });

  /** A time strictly after every event recorded so far (the database clock stamps them). */
  async function instantAfterEvents(): Promise<string> {
    await pause(20);
    const at = new Date().toISOString();
    await pause(20);
    return at;
  }

  const getAsOf = (userId: string, asOf: string, extra = '') => call(app, 'GET', `/v1/users/${userId}?asOf=${encodeURIComponent(asOf)}${extra}`);

  describe('as of a time or a position, before and after a payout', () => {
    it('shows the settled cursor and the total paid as they were before the payout (HTTP, time)', async () => {
      const { status, body } = await getAsOf(player.userId, before.at);

      expect(status).toBe(200);
      expect(body).toMatchObject({
        userId: player.userId,
        discordUserId: player.discordUserId,
        epicAccountId: player.epicAccountId,
        wallet: { address: player.address, verified: false },
        verificationStatus: 'ok',
        accruedKillCount: 30,
        lastObservedKillCount: 30,
        lastSettledKillCount: 0,
        lastSettlementAt: null,
        unsettledKills: 30,
        totalPaidRaw: '0',
        totalPaidBan: '0.00000000',
        capsRemaining: { today: 150, thisWeek: 750 },
        openFlags: [],
        asOf: before.at,
      });
      expect(BigInt(body.position as string)).toBeLessThanOrEqual(before.position);
    });

    it('shows the payout settled after it (HTTP, time), and the caps it used up', async () => {
      const { status, body } = await getAsOf(player.userId, after.at);
      const trail = JSON.parse(await userAuditOutput(app.store, player.userId, { json: true })) as AuditEntryJson[];
      const accrued = trail.find((entry) => entry.type === 'AccrualRecorded')?.data.amountRaw as string;

      expect(status).toBe(200);
      expect(body).toMatchObject({
        accruedKillCount: 30,
        lastSettledKillCount: 30,
        unsettledKills: 0,
        unsettledRaw: '0',
        totalPaidRaw: accrued,
        capsRemaining: { today: 120, thisWeek: 720 },
        lastSettlementAt: trail.find((entry) => entry.type === 'PayoutSent')?.data.sentAt,
        position: trail.at(-1)?.position,
      });
    });

    it('answers the same for the positions before and after the payout (CLI, position)', async () => {
      const atBefore = await userAsOf(app.store, before.position.toString(), player.userId, PAYOUT_DEFAULTS);
      const atAfter = await userAsOf(app.store, after.position.toString(), player.discordUserId, PAYOUT_DEFAULTS);
      const byTimeBefore = (await getAsOf(player.userId, before.at)).body;
      const byTimeAfter = (await getAsOf(player.userId, after.at)).body;

      expect(atBefore).toMatchObject({ lastSettledKillCount: 0, totalPaidRaw: '0', unsettledKills: 30, position: byTimeBefore.position });
      expect(atAfter).toMatchObject({ lastSettledKillCount: 30, totalPaidRaw: byTimeAfter.totalPaidRaw, unsettledKills: 0, position: byTimeAfter.position });
      // The caps are counted on the day of the last event included, here the same day.
      expect(shared(atAfter as unknown as Record<string, unknown>)).toEqual(shared(byTimeAfter));
    });

    it('as of now equals the live answer of the read models, field for field', async () => {
      await synced(app);
      // Both answers count the caps on the day they are made: the same day.
      await clearOfUtcMidnight(5_000);
      const live = await call(app, 'GET', `/v1/users/${player.userId}`);
      const now = await getAsOf(player.userId, new Date().toISOString());

      expect(live.status).toBe(200);
      expect(now.status).toBe(200);
      expect(shared(now.body)).toEqual(live.body);
      expect(live.body).not.toHaveProperty('asOf');
    });

    it('as of now equals the live answer for a user with an open flag and a verified-less new wallet too', async () => {
      const flagged = await earner(app, 10);
      await call(app, 'POST', `/v1/users/${flagged.userId}/kills`, { lifetimeKills: 4, observedAt: new Date().toISOString() });
      await synced(app);
      await clearOfUtcMidnight(5_000);
      const live = await call(app, 'GET', `/v1/users/${flagged.userId}`);
      const now = await getAsOf(flagged.userId, new Date().toISOString());

      expect(live.body.openFlags).toEqual([expect.objectContaining({ flagType: 'kills_decreased', severity: 'med' })]);
      expect(shared(now.body)).toEqual(live.body);
    });

    it('answers 404 user_not_found before the user registered, and for a user never seen', async () => {
      const early = await getAsOf(player.userId, '2020-01-01T00:00:00Z');
      const unknown = await getAsOf(userIdFromDiscordId('111111111111111111'), before.at);

      expect([early.status, early.body.code]).toEqual([404, 'user_not_found']);
      expect([unknown.status, unknown.body.code]).toEqual([404, 'user_not_found']);
      expect(await refusal(userAsOf(app.store, '0', player.userId, PAYOUT_DEFAULTS))).toBe('user_not_found');
    });
  });

  describe('?asOf= that is not a time the service answers for gets a 422 problem, never a 5xx', () => {
    it.each([
      ['malformed', 'yesterday', 'invalid_as_of'],
      ['a week date Date cannot hold', '2026-W05-1', 'invalid_as_of'],
      ['a date alone', '2026-05-01', 'invalid_as_of'],
      ['a time without a zone', '2026-05-01T12:00:00', 'invalid_as_of'],
      ['an impossible day', '2026-02-30T00:00:00Z', 'invalid_as_of'],
      ['a year Date cannot hold', '+275761-01-01T00:00:00Z', 'invalid_as_of'],
      ['an over-long time', `2026-05-01T12:00:00.${'1'.repeat(100)}Z`, 'invalid_as_of'],
      ['empty', '', 'invalid_as_of'],
      ['in the future', new Date(Date.now() + 3_600_000).toISOString(), 'as_of_in_future'],
    ])('%s', async (_case, asOf, code) => {
      const { status, contentType, body } = await getAsOf(player.userId, asOf);

      expect(status).toBe(422);
      expect(contentType).toMatch(/^application\/problem\+json/);
      expect(body.code).toBe(code);
    });

    it('given twice', async () => {
      const { status, body } = await call(app, 'GET', `/v1/users/${player.userId}?asOf=${before.at}&asOf=${after.at}`);
      expect([status, body.code]).toEqual([422, 'invalid_as_of']);
    });

    it('with minPosition, which has nothing to wait for', async () => {
      const { status, body } = await getAsOf(player.userId, before.at, `&minPosition=${before.position.toString()}`);
      expect([status, body.code]).toEqual([422, 'as_of_with_min_position']);
    });

    it('the CLI refuses the same, and a position that is not one', async () => {
      expect(await refusal(userAsOf(app.store, '2026-W05-1', player.userId, PAYOUT_DEFAULTS))).toBe('invalid_as_of');
      expect(await refusal(userAsOf(app.store, '99999999999999999999', player.userId, PAYOUT_DEFAULTS))).toBe('invalid_as_of');
      expect(await refusal(userAsOf(app.store, new Date(Date.now() + 3_600_000).toISOString(), player.userId, PAYOUT_DEFAULTS))).toBe('as_of_in_future');
      expect(await refusal(userAsOf(app.store, before.at, 'not-a-user', PAYOUT_DEFAULTS))).toBe('invalid_user_id');
    });
  });

  describe('audit user', () => {
    it('lists every event with the balances after it, by user id or Discord id alike', async () => {
      const byId = JSON.parse(await userAuditOutput(app.store, player.userId, { json: true })) as AuditEntryJson[];
      const byDiscord = JSON.parse(await userAuditOutput(app.store, player.discordUserId, { json: true })) as AuditEntryJson[];
      const amount = byId.find((entry) => entry.type === 'AccrualRecorded')?.data.amountRaw as string;
      const balances = (type: string) => byId.find((entry) => entry.type === type)?.balances;

      expect(byDiscord).toEqual(byId);
      expect(byId.map((entry) => entry.type)).toEqual([
        'UserRegistered',
        'EpicAccountLinked',
        'VerificationRecorded',
        'WalletLinked',
        'KillsObserved',
        'AccrualRecorded',
        'PayoutRequested',
        'PayoutSent',
      ]);
      expect(byId.map((entry) => entry.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(byId[0]).toMatchObject({ actor: { kind: 'integration', name: 'test-all' }, data: { discordUserId: player.discordUserId } });
      expect(balances('KillsObserved')).toMatchObject({ accruedKills: 0, accruedRaw: '0', unsettledKills: 0 });
      expect(balances('AccrualRecorded')).toMatchObject({ accruedKills: 30, accruedRaw: amount, claimedKills: 0, inFlightKills: 0, settledKills: 0, paidRaw: '0', unsettledKills: 30, unsettledRaw: amount });
      expect(balances('PayoutRequested')).toMatchObject({ claimedKills: 30, claimedRaw: amount, inFlightKills: 30, inFlightRaw: amount, settledKills: 0, paidRaw: '0', unsettledKills: 30 });
      expect(balances('PayoutSent')).toMatchObject({ claimedKills: 30, inFlightKills: 0, inFlightRaw: '0', settledKills: 30, paidRaw: amount, unsettledKills: 0, unsettledRaw: '0', unsettledBan: '0.00000000' });
      expect(byId.every((entry) => /^\d+$/.test(entry.position) && !Number.isNaN(Date.parse(entry.recordedAt)))).toBe(true);
    });

    it('prints one line per event, with time, type, detail and balances', async () => {
      const text = await userAuditOutput(app.store, player.discordUserId, {});
      const lines = text.trimEnd().split('\n');

      expect(lines[0]).toBe(`Audit trail of user ${player.userId}: 8 events; balances after each (BAN).`);
      expect(lines).toHaveLength(9);
      expect(lines[6]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z {2}#5 @\d+ +AccrualRecorded +\+30 kills \(0→30\) × [\d.]+ BAN = [\d.]+ BAN {2}\| accrued 30 \([\d.]+\) · in flight 0 \(0\.00000000\) · settled 0, paid 0\.00000000 · unsettled 30/);
      expect(lines[8]).toMatch(/PayoutSent +payout \S+ sent: 30 kills, [\d.]+ BAN, block dryrun-\S+ {2}\| .* settled 30, paid [1-9][\d.]* · unsettled 0 \(0\.00000000\)$/);
    });

    it('refuses a user with no events and a reference that is no user', async () => {
      expect(await refusal(userAuditOutput(app.store, '111111111111111111', {}))).toBe('user_not_found');
      expect(await refusal(userAuditOutput(app.store, userIdFromDiscordId('111111111111111111').toUpperCase(), {}))).toBe('user_not_found');
      expect(await refusal(userAuditOutput(app.store, '1234', {}))).toBe('invalid_user_id');
      expect(await refusal(userAuditOutput(app.store, 'ban_1abc', {}))).toBe('invalid_user_id');
    });
  });

  describe('events tail', () => {
    it('prints the events after --from, one line each, filtered by category, and stops at the head without --follow', async () => {
      const lines: string[] = [];
      const result = await tailEvents(app.store, { fromPosition: before.position, categories: ['user'], limit: null, follow: false, json: false }, async (line) => {
        lines.push(line);
      });
      const userLines = lines.filter((line) => line.includes(`user-${player.userId}`));

      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.every((line) => line.split('  ')[2].startsWith('user-'))).toBe(true);
      expect(userLines.map((line) => line.split('  ')[3])).toEqual(['PayoutRequested', 'PayoutSent']);
      expect(userLines[0]).toMatch(/^\d+ {2}\d{4}-\d\d-\d\dT\S+Z {2}user-\S+ {2}PayoutRequested {2}admin:test-all {2}\{.*"payoutId":/);
      expect(lines.every((line) => BigInt(line.split('  ')[0]) > before.position)).toBe(true);
      expect(result.count).toBe(lines.length);
    });

    it('prints the operator stream alone with --category operator, and NDJSON with --json', async () => {
      const lines: string[] = [];
      await tailEvents(app.store, { fromPosition: null, categories: ['operator'], limit: null, follow: false, json: true }, async (line) => {
        lines.push(line);
      });
      const events = lines.map((line) => JSON.parse(line) as { stream: string; type: string; position: string });

      expect(events.every((event) => event.stream.startsWith('operator-'))).toBe(true);
      expect(events.map((event) => BigInt(event.position))).toEqual([...events.map((event) => BigInt(event.position))].sort((a, b) => (a < b ? -1 : 1)));
    });

    it('follows new events as they are appended, until --limit', async () => {
      const head = await app.store.headPosition();
      const lines: string[] = [];
      const tail = tailEvents(app.store, { fromPosition: head, categories: ['user'], limit: 1, follow: true, json: false }, async (line) => {
        lines.push(line);
      });
      await pause(200);
      const registered = await call(app, 'POST', '/v1/users', { discordUserId: '424242424242424242' });
      const result = await tail;

      expect(registered.status).toBe(201);
      expect(result.count).toBe(1);
      expect(lines[0]).toContain(`user-${userIdFromDiscordId('424242424242424242')}  UserRegistered`);
    });

    it('ends a follow with no new events when it is stopped (Ctrl-C)', async () => {
      const abort = new AbortController();
      const tail = tailEvents(app.store, { fromPosition: await app.store.headPosition(), categories: null, limit: null, follow: true, json: false, signal: abort.signal }, async () => undefined);
      await pause(200);
      abort.abort();

      await expect(tail).resolves.toMatchObject({ count: 0 });
    });
  });

  it('the CLI has the commands: audit user, as-of, events tail', () => {
    const program = buildProgram();
    const names = program.commands.map((command) => command.name());
    const sub = (name: string) => program.commands.find((command) => command.name() === name)?.commands.map((command) => command.name());

    expect(names).toEqual(expect.arrayContaining(['audit', 'as-of', 'events']));
    expect(sub('audit')).toEqual(['user']);
    expect(sub('events')).toEqual(['tail']);
  });
});

describe('as-of a position after a cap change on a later day', () => {
  it('answers what the live status said right after the change: its caps on its own day, not on the day of the user\'s last event', async () => {
    // The change and the live answer compared with it fall on one UTC day.
    await clearOfUtcMidnight(20_000);
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      // Given a player who claimed 40 kills yesterday, their events recorded yesterday.
      const yesterday = new Date(Date.now() - 86_400_000);
      const userId = userIdFromDiscordId('812345678901234567');
      const address = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
      const metadata = { correlationId: randomUUID(), causationId: null, actor: { kind: 'system' as const, name: 'as-of-test' } };
      const run = async (command: UserCommand) => (await runUserCommand(app.store, userId, command, metadata)).events;
      await run({ type: 'RegisterUser', data: { userId, discordUserId: '812345678901234567', regionCode: null, now: yesterday } });
      const rate = { baseRaw: 5n * 10n ** 27n, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
      await run({ type: 'LinkEpicAccount', data: { epicAccountId: 'e'.repeat(32), baselineKills: 0n, linkedToAnotherUser: false, formerHolderMark: null, rate, now: yesterday } });
      await run({ type: 'LinkWallet', data: { address, primaryForAnotherUser: false, now: yesterday } });
      const observed = await run({ type: 'ObserveKills', data: { lifetimeKills: 40n, observedAt: yesterday, now: yesterday, rate, abuse: { killRatePerMinute: 10n, maxKillsPerObservation: 500n } } });
      const accrual = observed.find((event) => event.type === 'AccrualRecorded');
      if (accrual?.type !== 'AccrualRecorded') throw new Error('the observation accrued nothing');
      const requested = await runUserCommand(app.store, userId, {
        type: 'RequestPayout',
        data: {
          payoutId: randomUUID(), runId: randomUUID(), gateway: 'dry-run', address, kills: 40n, amountRaw: 40n * BigInt(accrual.data.ratePerKillRaw),
          idempotencyKey: 'as-of-test', accruals: [{ accrualId: accrual.data.accrualId, kills: 40n }], requireVerifiedWallet: false, now: yesterday,
        },
      }, metadata);
      await app.pool.query(sql.unsafe`UPDATE events SET created_at = ${yesterday.toISOString()}::timestamptz WHERE stream_name = ${`user-${userId}`}`);

      // When an admin lowers the daily cap to 100 today, at position P.
      const changed = await call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: 100 });
      expect(changed.status).toBe(200);
      const atChange = await userAsOf(app.store, changed.body.position as string, userId, PAYOUT_DEFAULTS);
      const atPayout = await userAsOf(app.store, String(requested.position), userId, PAYOUT_DEFAULTS);

      // Then the answer at P is today's live answer: 100 left today (nothing claimed today); the
      // answer at the payout is yesterday's: 150 − 40.
      const [changeEvent] = await app.store.readStream('faucet-config');
      expect(atChange.asOf).toBe(changeEvent.createdAt.toISOString());
      expect(atChange.capsRemaining).toEqual((await userAsOf(app.store, new Date().toISOString(), userId, PAYOUT_DEFAULTS)).capsRemaining);
      expect(atChange.capsRemaining.today).toBe(100);
      expect(atPayout.asOf).toBe(yesterday.toISOString());
      expect(atPayout.capsRemaining.today).toBe(110);
    } finally {
      await app.close();
    }
  });
});

describe('as-of uses the caps an admin had set by the cut, not the environment defaults', () => {
  it('answers each moment with the daily cap in force then: the default, the first change, the second (HTTP time and CLI position)', async () => {
    // The claim, the three moments and the live answer fall on one UTC day.
    await clearOfUtcMidnight(20_000);
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      // Given a player whose 30 kills a settlement claimed today, under the default daily cap 150.
      const player = await earner(app, 30);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);
      const moment = async (): Promise<{ at: string; position: string }> => {
        await pause(20);
        const at = new Date().toISOString();
        await pause(20);
        return { at, position: String(await app.store.headPosition()) };
      };
      const underDefault = await moment();

      // When an admin lowers the daily cap to 100, and later to 60.
      const first = await call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: 100 });
      expect(first.status).toBe(200);
      const underFirst = await moment();
      const second = await call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: 60 });
      expect(second.status).toBe(200);
      const underSecond = await moment();

      // Then each as-of answer subtracts the 30 claimed from the cap in force at its cut.
      const today = async (asOf: string): Promise<unknown> => {
        const { status, body } = await call(app, 'GET', `/v1/users/${player.userId}?asOf=${encodeURIComponent(asOf)}`);
        expect(status).toBe(200);
        return (body.capsRemaining as { today: number }).today;
      };
      expect([await today(underDefault.at), await today(underFirst.at), await today(underSecond.at)]).toEqual([120, 70, 30]);
      const byPosition = async (position: string): Promise<number> => (await userAsOf(app.store, position, player.userId, PAYOUT_DEFAULTS)).capsRemaining.today;
      expect([await byPosition(underDefault.position), await byPosition(first.body.position as string), await byPosition(second.body.position as string)]).toEqual([120, 70, 30]);
      // And after the last change the answer is the live one.
      await synced(app);
      const live = await call(app, 'GET', `/v1/users/${player.userId}`);
      expect(live.body.capsRemaining).toEqual({ today: 30, thisWeek: 720 });
    } finally {
      await app.close();
    }
  });
});

describe('audit user and as-of on an event that cannot be read', () => {
  it('fail naming the event (position, revision, type, stream), not with the decoder\'s message alone', async () => {
    // No projector: it would retry the malformed event forever.
    const database = await createTestDatabase();
    const store = new PostgresEventStore(database.url);
    try {
      // Given a user whose second event lacks its epicAccountId.
      const userId = randomUUID();
      const metadata = { correlationId: randomUUID(), causationId: null, actor: { kind: 'system' as const, name: 'audit-test' }, schemaVersion: 1 };
      const at = new Date().toISOString();
      await store.appendToStream(
        toStreamName(userId),
        [
          { id: randomUUID(), type: 'UserRegistered', data: { userId, discordUserId: '812345678901234599', regionCode: null, registeredAt: at }, metadata },
          { id: randomUUID(), type: 'EpicAccountLinked', data: { userId, baselineKills: 0, source: 'integration', linkedAt: at }, metadata },
        ],
        { expectedRevision: 'no_stream' },
      );
      const position = (await store.headPosition()) as bigint;
      const named = `The event at position ${position.toString()} (#1 EpicAccountLinked of ${toStreamName(userId)}) cannot be read: Stored event field epicAccountId is not a string`;

      await expect(userAuditOutput(store, userId, {})).rejects.toThrow(named);
      await expect(userAsOf(store, position.toString(), userId, PAYOUT_DEFAULTS)).rejects.toThrow(named);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
