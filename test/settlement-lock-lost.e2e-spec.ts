import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { type UserCommand, userDecider, type UserState } from '../src/identity/user/user.decider';
import { USER_EVENT_SCHEMA_VERSION, type UserEvent } from '../src/identity/user/user.events';
import { toStreamName } from '../src/identity/user/user.stream';
import { PAYOUT_REQUESTS_IN_FLIGHT_MAX } from '../src/payouts/run-settlement/run-settlement.handler';
import { toNewEvents } from '../src/platform/decider';
import { RAW_PER_BAN } from '../src/platform/money';
import { call } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/** More users than a run has payout requests in flight at once, so a run takes on new ones as it goes. */
const USERS = PAYOUT_REQUESTS_IN_FLIGHT_MAX * 2 + 176;
const WALLET = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const metadata = { correlationId: 'settlement-lock-lost', causationId: null, actor: { kind: 'system', name: 'test' } } as const;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Rejects after `ms`, so a gate that never opens fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const late = new Promise<T>((_, reject) => {
    setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref();
  });
  return Promise.race([promise, late]);
}

/**
 * A settlement run holds an advisory lock on one session so that no second run plans beside it
 * (SPEC §4.3: both would plan from the same spendable balance). When that session ends under it
 * (an administrator, a failover, a proxy), the lock is free for another run: the first must stop
 * taking on users, and say so, rather than go on requesting payouts beside the second.
 */
describe('a settlement run whose lock is lost', () => {
  let app: TestApp;
  let admin: Client;

  /** `count` payable users (verified link, a wallet, 1 kill accrued) appended straight to the store. */
  async function appendEarners(count: number): Promise<string[]> {
    const now = new Date();
    const rate = { baseRaw: RAW_PER_BAN / 20n, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
    const abuse = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };
    const userIds: string[] = [];
    const chunk = 50;
    for (let start = 0; start < count; start += chunk) {
      await Promise.all(
        Array.from({ length: Math.min(chunk, count - start) }, async (_, offset) => {
          const n = start + offset;
          const userId = randomUUID();
          userIds.push(userId);
          const commands: UserCommand[] = [
            { type: 'RegisterUser', data: { userId, discordUserId: `${100_000_000_000_000_000n + BigInt(n)}`, regionCode: null, now } },
            {
              type: 'LinkEpicAccount',
              data: { epicAccountId: n.toString(16).padStart(32, 'e'), baselineKills: 0n, linkedToAnotherUser: false, formerHolderMark: null, rate, now },
            },
            { type: 'LinkWallet', data: { address: WALLET, primaryForAnotherUser: false, now } },
            { type: 'ObserveKills', data: { lifetimeKills: 1n, observedAt: new Date(now.getTime() - 120_000), now, rate, abuse } },
          ];
          let state: UserState = userDecider.initialState;
          const events: UserEvent[] = [];
          for (const command of commands) {
            for (const event of userDecider.decide(command, state)) {
              state = userDecider.evolve(state, event);
              events.push(event);
            }
          }
          await app.store.appendToStream(toStreamName(userId), toNewEvents(events, metadata, USER_EVENT_SCHEMA_VERSION), { expectedRevision: 'no_stream' });
        }),
      );
    }
    return userIds;
  }

  const requestedRow = z.object({ user_id: z.string(), run_id: z.string(), position: z.bigint() });
  const requested = (): Promise<ReadonlyArray<z.infer<typeof requestedRow>>> =>
    app.pool.any(sql.type(requestedRow)`
      SELECT data->>'userId' AS user_id, data->>'runId' AS run_id, global_position AS position
        FROM events WHERE event_type = 'PayoutRequested' ORDER BY global_position`);
  const settlementEvents = (runId: string): Promise<readonly string[]> =>
    app.pool.anyFirst(sql.type(z.object({ event_type: z.string() }))`
      SELECT event_type FROM events WHERE stream_name = ${`settlement-${runId}`} ORDER BY stream_revision`);

  beforeEach(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    admin = new Client({ connectionString: app.database.url });
    await admin.connect();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await admin.end();
    await app.close();
  });

  it('stops taking on users once its session is ended, answers 503 settlement_lock_lost, and nothing is paid twice', async () => {
    const users = await appendEarners(USERS);
    await synced(app, 60_000);

    // The first run's session is ended as its first payout is requested; its payout requests then
    // wait until a second run has started, and the second run's until the first has answered.
    const runIds: string[] = [];
    const lockLost = deferred();
    const secondStarted = deferred();
    const firstAnswered = deferred();
    let terminated = -1;
    const append = app.store.appendToStream.bind(app.store);
    jest.spyOn(app.store, 'appendToStream').mockImplementation(async (stream, events, options) => {
      const [event] = events;
      if (event.type === 'PayoutRequested') {
        if (event.data.runId === runIds[0]) {
          if (terminated === -1) {
            terminated = 0;
            terminated = (
              await admin.query(`
                SELECT pg_terminate_backend(pid) FROM pg_locks
                 WHERE locktype = 'advisory' AND classid = 7358 AND objid = 3 AND objsubid = 2`)
            ).rowCount as number;
            lockLost.resolve();
          }
          await secondStarted.promise;
        } else {
          await firstAnswered.promise;
        }
      }
      const result = await append(stream, events, options);
      if (event.type === 'SettlementRunStarted') {
        runIds.push(event.data.runId as string);
        if (runIds.length === 2) secondStarted.resolve();
      }
      return result;
    });

    const firstRun = call(app, 'POST', '/v1/admin/settlements', {});
    await within(lockLost.promise, 30_000, 'the first run requesting a payout');
    const secondRun = call(app, 'POST', '/v1/admin/settlements', {});
    const first = await within(firstRun, 60_000, 'the first run answering');
    firstAnswered.resolve();
    const second = await within(secondRun, 60_000, 'the second run answering');

    const [firstRunId, secondRunId] = runIds;
    const rows = await requested();
    const secondStartedAt = await app.pool.oneFirst(sql.type(z.object({ position: z.bigint() }))`
      SELECT global_position AS position FROM events WHERE stream_name = ${`settlement-${secondRunId}`} AND stream_revision = 0`);
    const ofFirst = rows.filter((row) => row.run_id === firstRunId);
    // The second run started beside the first: the lock was free. What the first requested after
    // that were users it had in flight when it lost the lock, never new ones.
    expect({ terminated, secondStatus: second.status }).toEqual({ terminated: 1, secondStatus: 200 });
    expect(ofFirst.filter((row) => row.position > secondStartedAt).length).toBeLessThanOrEqual(PAYOUT_REQUESTS_IN_FLIGHT_MAX);
    expect(ofFirst.length).toBeLessThanOrEqual(PAYOUT_REQUESTS_IN_FLIGHT_MAX);
    expect({ status: first.status, code: first.body.code }).toEqual({ status: 503, code: 'settlement_lock_lost' });
    expect(first.body.detail).toContain(`${ofFirst.length} payouts`);
    expect(first.body.detail).toMatch(/stay requested and will be sent/);
    // As when the event store fails mid-run: the summary is not recorded; the payouts are.
    expect(await settlementEvents(firstRunId)).toEqual(['SettlementRunStarted']);
    expect(await settlementEvents(secondRunId)).toEqual(['SettlementRunStarted', 'SettlementRunCompleted']);
    expect(second.body).toMatchObject({ payoutsRequested: USERS - ofFirst.length, skipped: ofFirst.length });

    // Nothing is paid twice: every user has one payout, and each is sent once.
    jest.restoreAllMocks();
    expect(new Set(rows.map((row) => row.user_id)).size).toBe(rows.length);
    expect([...new Set(rows.map((row) => row.user_id))].sort()).toEqual([...users].sort());
    await synced(app, 60_000);
    let sent = 0;
    for (let round = 0; round < 10; round += 1) {
      const result = await app.workers.payoutExecutor?.runOnce();
      if (result === undefined || result.sent === 0) break;
      sent += result.sent;
      await synced(app, 60_000);
    }
    expect(sent).toBe(USERS);
    const sentPerPayout = await app.pool.anyFirst(sql.type(z.object({ count: z.number() }))`
      SELECT count(*)::int AS count FROM events WHERE event_type = 'PayoutSent' GROUP BY data->>'payoutId' HAVING count(*) > 1`);
    expect(sentPerPayout).toEqual([]);
    expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ eligible: 0, payoutsRequested: 0 });
  }, 180_000);
});
