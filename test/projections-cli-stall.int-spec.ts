import { createPool, type DatabasePool, type Interceptor, sql } from 'slonik';
import { z } from 'zod';
import { allProjections, Projector, resetProjection } from '../projections';
import { usersProjection } from '../projections/users/users.projection';
import { createDatabasePool } from '../src/platform/database/database';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { readCheckpoints } from '../src/platform/read-models/checkpoints';
import { openTransaction } from './support/open-transaction';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { appendUserHistory } from './support/user-history';

/*
 * `projections verify` holds a projection's checkpoint row while it compares it, and `projections
 * rebuild` while it swaps it in. An operator who presses Ctrl-Z on one (SIGTSTP; SIGSTOP here), or
 * whose machine freezes, held the row, and stopped the live projector of that projection, until
 * slonik's session-wide idle_in_transaction_session_timeout (60 s, on every pooled connection)
 * ended it: its TCP connection stays open and its kernel still answers keepalives. Those
 * transactions are bounded like the projector's batches (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS, 2 s
 * here): the server ends the stopped session, the live projector goes on, and the command,
 * resumed, fails with a message that says what happened, leaving the read models as they were.
 *
 * To stop the command inside its locked part for certain, the test holds the checkpoint row of
 * `users` itself until the command waits for it, stops the command, and lets the row go: the server
 * hands it to the stopped command's session, which then sits idle in its transaction.
 */
describe('a projections command stopped while it holds a checkpoint row', () => {
  const HELD = 'users';
  let database: TestDatabase;
  let pool: DatabasePool;
  let store: PostgresEventStore;
  let users = 0;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
    users = 0;
  });

  afterEach(async () => {
    await store.close();
    await pool.end();
    await database.drop();
  });

  /** The next users' histories, as the deciders make them (appendUserHistory). */
  async function playUsers(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      await appendUserHistory(store, users, { t0: Date.UTC(2026, 10, 1), discordBase: 730000000000000000n, actor: 'cli-stall-test' });
      users += 1;
    }
  }

  const projector = (): Projector => new Projector(pool, store, allProjections, { batchSizeMax: 50, retryDelayMinMs: 10, retryDelayMaxMs: 200 });

  /** Every projection's committed checkpoint at `head` or past it. */
  const allAt = (head: bigint) => async (): Promise<true | undefined> => {
    const rows = await readCheckpoints(pool);
    const behind = allProjections.filter((projection) => {
      const position = rows.find((row) => row.projection_name === projection.name)?.position;
      return position === undefined || position === null || position < head;
    });
    return behind.length === 0 ? true : undefined;
  };

  async function headPosition(): Promise<bigint> {
    const head = await store.headPosition();
    if (head === null) throw new Error('no events');
    return head;
  }

  /** The read models at the head, by a projector that has stopped again. */
  async function projectToHead(): Promise<void> {
    const runner = projector();
    runner.start();
    try {
      await eventually('the read models to reach the head', allAt(await headPosition()), 60_000);
    } finally {
      await runner.stop();
    }
  }

  /** The projections whose checkpoint row another session holds locked. */
  const heldCheckpoints = (): Promise<string[]> =>
    pool.transaction(async (transaction) => {
      const free = new Set(await transaction.anyFirst(sql.type(z.object({ projection_name: z.string() }))`
        SELECT projection_name FROM projection_checkpoints FOR UPDATE SKIP LOCKED`));
      return (await readCheckpoints(transaction)).map((row) => row.projection_name).filter((name) => !free.has(name));
    });

  /** A session that waits for a lock `pid` holds. */
  const waitingBehind = (pid: number) => async (): Promise<true | undefined> => {
    const waiting = await pool.oneFirst(sql.type(z.object({ waiting: z.number() }))`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
       WHERE datname = current_database() AND ${pid}::int = ANY (pg_blocking_pids(pid))`);
    return waiting > 0 ? true : undefined;
  };

  const cliEnv = (): NodeJS.ProcessEnv => childEnv({ DATABASE_URL: database.url, PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS: '2' });

  /** Runs `projections <args>` to its end and answers its exit code and output. */
  async function runCli(args: readonly string[]): Promise<{ code: number | null; output: string }> {
    const cli = startBuiltEntry('cli.main.js', cliEnv(), ['projections', ...args]);
    const { code } = await waitForExit(cli.child, 120_000);
    return { code, output: cli.output() };
  }

  /**
   * Starts `projections <args>`, lets it reach the checkpoint row of HELD, which the test holds,
   * stops it (SIGSTOP) and lets the row go to it; then appends more events and has a live
   * projector bring every projection to the new head while the command stays stopped. Resumes it
   * (SIGCONT) and answers its exit code and output.
   */
  async function stopInsideLockedPart(args: readonly string[]): Promise<{ code: number | null; output: string }> {
    const holder = await openTransaction(database.url);
    let holding = true;
    const holderPid = (await holder.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await holder.client.query('SELECT position FROM projection_checkpoints WHERE projection_name = $1 FOR UPDATE', [HELD]);
    const cli = startBuiltEntry('cli.main.js', cliEnv(), ['projections', ...args]);
    const live = projector();
    let liveStarted = false;
    try {
      await eventually(`projections ${args.join(' ')} to wait for the checkpoint row of ${HELD}`, waitingBehind(holderPid), 90_000, 5);
      cli.child.kill('SIGSTOP');
      await holder.end('COMMIT');
      holding = false;
      // The server has handed the row to the stopped command's session.
      expect(await heldCheckpoints()).toEqual([HELD]);

      await playUsers(20);
      const head = await headPosition();
      live.start();
      liveStarted = true;
      // Within the bound and a margin; well short of the 60 s that slonik's own default
      // idle_in_transaction_session_timeout, on every pooled connection, would take.
      await eventually(`the live projector to apply past the checkpoint of ${HELD}, which the stopped command holds`, allAt(head), 30_000);
      expect(await heldCheckpoints()).toEqual([]);

      cli.child.kill('SIGCONT');
      const { code } = await waitForExit(cli.child, 60_000);
      return { code, output: cli.output() };
    } catch (error) {
      cli.child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${cli.output()}`);
    } finally {
      if (holding) await holder.end('ROLLBACK');
      if (liveStarted) await live.stop();
    }
  }

  /** No stack trace: the CLI prints `error: <code>: <message>` alone. */
  const noStack = (output: string): void => {
    expect(output).not.toMatch(/^\s+at /m);
  };

  it('verify: the server ends its comparison once idle that long; the live projector goes on, and verify fails saying why', async () => {
    await playUsers(200);
    await projectToHead();

    const stopped = await stopInsideLockedPart(['verify']);
    expect({ code: stopped.code, output: stopped.output }).toEqual({ code: 1, output: expect.stringMatching(/^error: verify_stalled: .*users.*\n/m) as unknown });
    expect(stopped.output).not.toMatch(/Verified|verify took/);
    noStack(stopped.output);
    // The verification's schema went with it.
    expect(await pool.oneFirst(sql.type(z.object({ gone: z.boolean() }))`SELECT to_regnamespace('projection_verify') IS NULL AS gone`)).toBe(true);

    const again = await runCli(['verify']);
    expect({ code: again.code, output: again.output }).toEqual({ code: 0, output: expect.stringContaining('the live read models equal a rebuild from the events') as unknown });
  }, 300_000);

  it('rebuild: the server ends its swap once idle that long; the live projector goes on, and the rebuild fails saying why and resumes when run again', async () => {
    await playUsers(200);
    await projectToHead();

    const stopped = await stopInsideLockedPart(['rebuild', HELD]);
    expect({ code: stopped.code, output: stopped.output }).toEqual({ code: 1, output: expect.stringMatching(/^error: rebuild_swap_stalled: .*users.*\n/m) as unknown });
    expect(stopped.output).not.toMatch(/Rebuilt \d+ projection/);
    noStack(stopped.output);

    const rebuilt = await runCli(['rebuild', HELD]);
    expect({ code: rebuilt.code, output: rebuilt.output }).toEqual({ code: 0, output: expect.stringContaining('Rebuilt 1 projection.') as unknown });
    const verified = await runCli(['verify']);
    expect({ code: verified.code, output: verified.output }).toEqual({ code: 0, output: expect.stringContaining('the live read models equal a rebuild from the events') as unknown });
  }, 300_000);

  it('resetProjection: the server ends its transaction once idle that long, and the projection is left as it was', async () => {
    await playUsers(5);
    await projectToHead();
    const before = await readCheckpoints(pool);
    const rowsBefore = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users`);
    // The reset stalls before its TRUNCATE, holding the checkpoint row, until the row is free again
    // (the server ended its session) or, failing that, 20 s have passed. slonik fails the
    // transaction as soon as its connection is ended, before the stall is over: awaited below.
    let heldWhileStalled: string[] = [];
    let stalled: Promise<void> = Promise.resolve();
    const stall: Interceptor = {
      name: 'stall-before-truncate',
      beforeQueryExecution: async (_context, query) => {
        if (!query.sql.trimStart().startsWith('TRUNCATE')) return null;
        stalled = (async () => {
          heldWhileStalled = await heldCheckpoints();
          await eventually('the stalled reset to free the checkpoint row', async () => ((await heldCheckpoints()).length === 0 ? true : undefined), 20_000).catch(() => undefined);
        })();
        await stalled;
        return null;
      },
    };
    const stalling = await createPool(database.url, { interceptors: [stall], queryRetryLimit: 0, transactionRetryLimit: 0 });
    try {
      await expect(resetProjection(stalling, usersProjection, { idleTimeoutMs: 1_000 })).rejects.toThrow(/idle-in-transaction timeout/);
    } finally {
      await stalled;
      await stalling.end().catch(() => undefined);
    }
    expect(heldWhileStalled).toEqual([usersProjection.name]);
    expect(await readCheckpoints(pool)).toEqual(before);
    expect(await pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users`)).toBe(rowsBefore);
  }, 120_000);
});
