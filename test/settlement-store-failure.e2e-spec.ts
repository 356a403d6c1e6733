import { sql } from 'slonik';
import { z } from 'zod';
import { toStreamName } from '../src/identity/user/user.stream';
import { EventStoreUnavailableError } from '../src/platform/event-store/event-store.port';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const payoutRow = z.object({ user_id: z.string(), run_id: z.string() });

/**
 * A settlement run whose append of one user's PayoutRequested fails without a clear answer (the
 * event store dropped the connection, timed out). The append may or may not have been stored; the
 * user's stream tells. SPEC §3: the run's stream records what it requested (SettlementRunCompleted).
 */
describe('a settlement run when the event store fails under one user', () => {
  let app: TestApp;
  let users: string[];

  beforeEach(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    users = [];
    for (const kills of [10, 11, 12]) users.push((await earner(app, kills)).userId);
    await synced(app);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await app.close();
  });

  /** The PayoutRequested append of `userId` fails once; `stored` says whether it was stored first. */
  function failAppendOnce(userId: string, stored: boolean): void {
    const append = app.store.appendToStream.bind(app.store);
    let failed = false;
    jest.spyOn(app.store, 'appendToStream').mockImplementation(async (stream, events, options) => {
      if (!failed && stream === toStreamName(userId) && events.some((event) => event.type === 'PayoutRequested')) {
        failed = true;
        if (stored) await append(stream, events, options);
        throw new EventStoreUnavailableError('simulated: the connection was lost during the append');
      }
      return append(stream, events, options);
    });
  }

  async function requested(): Promise<ReadonlyArray<z.infer<typeof payoutRow>>> {
    return app.pool.any(sql.type(payoutRow)`
      SELECT data->>'userId' AS user_id, data->>'runId' AS run_id FROM events WHERE event_type = 'PayoutRequested' ORDER BY global_position`);
  }

  async function completedOf(runId: string): Promise<readonly unknown[]> {
    return app.pool.anyFirst(sql.type(z.object({ data: z.unknown() }))`
      SELECT data FROM events WHERE stream_name = ${`settlement-${runId}`} AND event_type = 'SettlementRunCompleted'`);
  }

  it('rolls a user whose append was not stored over to the next run, and records the run with the others', async () => {
    failAppendOnce(users[1], false);

    const run = await call(app, 'POST', '/v1/admin/settlements', {});

    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ payoutsRequested: 2, killsRequested: 22, skipped: 1 });
    expect(await completedOf(run.body.runId as string)).toEqual([expect.objectContaining({ payoutsRequested: 2, killsRequested: 22, skipped: 1 })]);
    jest.restoreAllMocks();
    await synced(app);
    const next = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(next.body).toMatchObject({ payoutsRequested: 1, killsRequested: 11 });
    expect((await requested()).map((row) => row.user_id).sort()).toEqual([...users].sort());
  });

  it('counts a payout whose append was stored though its answer was lost, and never requests it again', async () => {
    failAppendOnce(users[1], true);

    const run = await call(app, 'POST', '/v1/admin/settlements', {});

    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ payoutsRequested: 3, killsRequested: 33, skipped: 0 });
    expect(await completedOf(run.body.runId as string)).toEqual([expect.objectContaining({ payoutsRequested: 3, killsRequested: 33 })]);
    jest.restoreAllMocks();
    await synced(app);
    expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 0 });
    expect(await requested()).toHaveLength(3);
  });

  it('stops with a 503 that says the payouts requested stay requested, when the user stream cannot be read either', async () => {
    failAppendOnce(users[1], false);
    const read = app.store.readStream.bind(app.store);
    jest.spyOn(app.store, 'readStream').mockImplementation(async (stream, options) => {
      if (stream === toStreamName(users[1])) throw new EventStoreUnavailableError('simulated: the event store is down');
      return read(stream, options);
    });

    const run = await call(app, 'POST', '/v1/admin/settlements', {});

    expect(run.status).toBe(503);
    expect(run.body).toMatchObject({ code: 'event_store_unavailable' });
    expect(run.body.detail).toMatch(/requested before stay requested and will be sent/);
    expect(run.body.detail).not.toMatch(/nothing was recorded/);
    jest.restoreAllMocks();
    // What was requested stays requested, and the next run requests the rest.
    const before = (await requested()).map((row) => row.user_id);
    expect(before).not.toContain(users[1]);
    await synced(app);
    const next = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(next.body).toMatchObject({ payoutsRequested: 3 - before.length });
    expect((await requested()).map((row) => row.user_id).sort()).toEqual([...users].sort());
  });
});
