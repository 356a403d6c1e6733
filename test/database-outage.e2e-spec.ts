import { sql } from 'slonik';
import { z } from 'zod';
import { toStreamName } from '../src/identity/user/user.stream';
import { journalReport } from '../src/treasury/journal/journal-balances';
import { call, type Earner, earner } from './support/scenario';
import { openTransaction, type OpenTransaction } from './support/open-transaction';
import { startTestApp, synced, type TestApp } from './support/test-app';

/** The app's statements give up after this long; a table locked by the test holds them that long. */
const STATEMENT_TIMEOUT_MS = 2_000;

/**
 * PostgreSQL failing a request mid-way, for real: a statement that runs past the statement
 * timeout (it waits on a lock the test holds), a backend terminated while it serves a request.
 * Routes answer 503 `database_unavailable` with Retry-After, never a 500.
 */
describe('routes while PostgreSQL fails their requests', () => {
  let app: TestApp;
  let lock: OpenTransaction | null = null;

  beforeAll(async () => {
    app = await startTestApp({}, { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  });

  afterEach(async () => {
    await lock?.end('ROLLBACK');
    lock = null;
  });

  afterAll(async () => {
    await synced(app);
    await app.close();
  });

  /** Holds an exclusive lock on `table` until the test ends: every statement reading it waits. */
  async function lockTable(table: string): Promise<void> {
    lock = await openTransaction(app.database.url);
    await lock.client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  }

  async function expectDatabaseUnavailable(response: Response): Promise<void> {
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ status: 503, code: 'database_unavailable' });
  }

  it('answers a read whose statement runs past the statement timeout 503 database_unavailable', async () => {
    await lockTable('treasury_totals');

    await expectDatabaseUnavailable(await fetch(`${app.baseUrl}/v1/donations`));
  });

  /** Terminates every backend waiting on the test's lock: the statements it serves fail under it. */
  async function terminateWaiting(): Promise<void> {
    const waiting = z.object({ pid: z.number() });
    let pids: readonly number[] = [];
    for (let tries = 0; pids.length === 0 && tries < 100; tries += 1) {
      const { rows } = await lock!.client.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      pids = rows.map((row) => waiting.parse(row).pid);
      if (pids.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) await lock!.client.query('SELECT pg_terminate_backend($1)', [pid]);
  }

  it('answers a read whose backend is terminated under it 503 database_unavailable', async () => {
    await lockTable('treasury_totals');
    const answer = fetch(`${app.baseUrl}/v1/donations`);
    await terminateWaiting();

    await expectDatabaseUnavailable(await answer);
  });

  it('fails the journal report cleanly when its backend is terminated under its snapshot', async () => {
    // Statements sent together on one slonik connection left a rejection unhandled here, which
    // ends the process (jest: "Test suite failed to run: Backend has been terminated").
    await lockTable('journal_postings');
    const report = journalReport(app.pool);
    await terminateWaiting();

    await expect(report).rejects.toThrow(/terminated/i);
  });

  it('reports every observation of a batch whose rate cannot be read as rejected 503, and records none', async () => {
    const player = await earner(app, 0);
    await synced(app);
    await lockTable('payout_totals');

    const batch = await call(app, 'POST', '/v1/kills/batch', { observations: [{ userId: player.userId, lifetimeKills: 5 }] });

    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { index: 0, userId: player.userId, status: 'rejected', error: expect.objectContaining({ status: 503, code: 'database_unavailable' }) },
    ]);
    await lock!.end('ROLLBACK');
    lock = null;
    const observed = await app.pool.oneFirst(sql.unsafe`
      SELECT count(*)::int FROM events WHERE event_type = 'KillsObserved' AND stream_name = ${toStreamName(player.userId)}`);
    expect(observed).toBe(0);
    // Retried once the database answers, it is recorded.
    const retried = await call(app, 'POST', '/v1/kills/batch', { observations: [{ userId: player.userId, lifetimeKills: 5 }] });
    expect(retried.body.results).toEqual([expect.objectContaining({ status: 'recorded' })]);
  });

  it('reports an observation whose append runs past the statement timeout as rejected 503, and records the others', async () => {
    // More players than the event store sends appends alone at once (half its pool of 10), so
    // the stuck player's append goes out in a group with others' (group commit).
    const others: Earner[] = [];
    for (let count = 0; count < 12; count += 1) others.push(await earner(app, 0));
    const stuck = await earner(app, 0);
    await synced(app);
    // An append to a stream takes its event_streams row lock (migration 0027); held here, the
    // stuck player's append waits, and only it.
    lock = await openTransaction(app.database.url);
    await lock.client.query('SELECT 1 FROM event_streams WHERE stream_name = $1 FOR UPDATE', [toStreamName(stuck.userId)]);

    const batch = await call(app, 'POST', '/v1/kills/batch', {
      observations: [...others, stuck].map((player) => ({ userId: player.userId, lifetimeKills: 3 })),
    });

    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      ...others.map((player, index) => expect.objectContaining({ index, userId: player.userId, status: 'recorded' })),
      {
        index: others.length,
        userId: stuck.userId,
        status: 'rejected',
        error: expect.objectContaining({ status: 503, code: 'event_store_unavailable' }),
      },
    ]);
  });
});
