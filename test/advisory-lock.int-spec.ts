import { createServer, type Server, type Socket, connect as connectTcp } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { type DatabasePool, sql } from 'slonik';
import { PayoutExecutor, type PayoutSender, type SendOutcome } from '../src/payouts/executor/payout-executor';
import { LOCK_HEARTBEAT_MS, withTryAdvisoryLock } from '../src/platform/database/advisory-lock';
import { createDatabasePool } from '../src/platform/database/database';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * A session advisory lock lasts as long as its session, and the holder's work runs on other
 * connections, so the session sits idle: what ends idle sessions (idle_session_timeout, a proxy)
 * must not free the lock under a holder that goes on, and a holder whose session ends anyway
 * must hear of it.
 */
describe('a held advisory lock', () => {
  let database: TestDatabase;
  let admin: Client;
  let pools: DatabasePool[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    admin = new Client({ connectionString: database.url });
    await admin.connect();
    // Sessions idle for a second end, as a server or proxy that reaps idle sessions would end them.
    await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(database.name)} SET idle_session_timeout = '1s'`);
    pools = [await createDatabasePool(database.url), await createDatabasePool(database.url)];
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
    await admin.end();
    await database.drop();
  });

  it('keeps a second payout executor out while the first works, however long its session sits idle', async () => {
    let working = 0;
    let mostAtOnce = 0;
    // A live sender whose prepare (finishing a block left in flight) takes 3 s, past the idle timeout.
    const sender = (): PayoutSender => ({
      mode: 'live',
      looksAt: ['live'],
      sendsAtOnceMax: 1,
      prepare: async () => {
        working += 1;
        mostAtOnce = Math.max(mostAtOnce, working);
        await sleep(3_000);
        working -= 1;
        return { ready: false, resumed: [] as SendOutcome[] };
      },
      send: async () => 'skipped',
    });
    const first = new PayoutExecutor(pools[0], sender(), 60_000);
    const second = new PayoutExecutor(pools[1], sender(), 60_000);

    const firstRun = first.runOnce();
    await sleep(1_800);
    const outcomes = await Promise.all([firstRun, second.runOnce()]);

    expect({ mostAtOnce, outcomes }).toEqual({ mostAtOnce: 1, outcomes: [{ sent: 0, failed: 0 }, { sent: 0, failed: 0 }] });
  });

  it('tells the holder when its session ends all the same, within a heartbeat', async () => {
    let abortedAfterMs: number | null = null;
    let workEnded = false;
    const outcome = withTryAdvisoryLock(pools[0], [7358, 99], async (_connection, held) => {
      const startedAt = Date.now();
      // The session holding the lock is ended from outside (an administrator, a failover).
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7358 AND objid = 99`);
      while (!held.aborted && Date.now() - startedAt < LOCK_HEARTBEAT_MS * 3) await sleep(50);
      abortedAfterMs = held.aborted ? Date.now() - startedAt : null;
      workEnded = true;
      return 'done';
    }).catch((error: Error) => `failed: ${error.message} (the work ${workEnded ? 'had ended' : 'still ran'})`);

    // The lock's function answers only once the work has ended, having told it the lock was lost.
    expect(await outcome).toBe('failed: Backend has been terminated. (the work had ended)');
    expect(abortedAfterMs).not.toBeNull();
    expect(abortedAfterMs as unknown as number).toBeLessThanOrEqual(LOCK_HEARTBEAT_MS + 2_000);
    // Another session takes the lock at once: the first one's is gone.
    expect(await withTryAdvisoryLock(pools[1], [7358, 99], async () => 'second')).toBe('second');
  });

  it('answers with the error of a holder that, told, stops with one of its own', async () => {
    const outcome = withTryAdvisoryLock(pools[0], [7358, 98], async (_connection, held) => {
      const startedAt = Date.now();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7358 AND objid = 98`);
      while (!held.aborted && Date.now() - startedAt < LOCK_HEARTBEAT_MS * 3) await sleep(50);
      throw new Error(held.aborted ? 'stopped: the lock was lost' : 'never told');
    }).catch((error: Error) => `failed: ${error.message}`);

    // The holder's own error says what it left done; the session's says only that it ended.
    expect(await outcome).toBe('failed: stopped: the lock was lost');
  });

  it('tells the holder when its session stops answering, and answers itself, with no end or error from the network', async () => {
    // A TCP relay that, once stalled, passes nothing on and closes nothing: a network path that
    // went silent (a partition, a stuck proxy), where no error and no end ever arrive.
    const relay = await stallingRelay(new URL(database.url));
    const pool = await createDatabasePool(relay.url(database.url));
    pools.push(pool);
    const answerTimeoutMs = 3_000;
    let abortedAfterMs: number | null = null;
    const startedAt = Date.now();
    const outcome = withTryAdvisoryLock(
      pool,
      [7358, 97],
      async (_connection, held) => {
        relay.stall();
        while (!held.aborted && Date.now() - startedAt < (LOCK_HEARTBEAT_MS + answerTimeoutMs) * 2) await sleep(50);
        abortedAfterMs = held.aborted ? Date.now() - startedAt : null;
        return 'done';
      },
      { answerTimeoutMs },
    ).then(
      () => 'answered',
      (error: Error) => `failed: ${error.message}`,
    );
    const bound = (LOCK_HEARTBEAT_MS + answerTimeoutMs) * 3;
    const answer = await Promise.race([outcome, sleep(bound, `no answer within ${bound} ms`, { ref: false })]);
    relay.close();

    expect(abortedAfterMs).not.toBeNull();
    expect(abortedAfterMs as unknown as number).toBeLessThanOrEqual(LOCK_HEARTBEAT_MS + answerTimeoutMs + 2_000);
    // The lock's function answers rather than wait for the silent session: the caller may try again.
    expect(answer).toBe(`failed: advisory lock 7358,97 lost: its session did not answer within ${answerTimeoutMs} ms`);
  });

  it('keeps the lock while a heartbeat waits behind a long statement of the work on its connection', async () => {
    // Settlement reads its eligible users on the lock's connection; with many users that takes
    // seconds, bounded by the statement timeout, and the heartbeat queues behind it.
    let aborted: boolean | null = null;
    const outcome = await withTryAdvisoryLock(pools[0], [7358, 96], async (connection, held) => {
      await connection.query(sql.unsafe`SELECT pg_sleep(17)`);
      aborted = held.aborted;
      return 'done';
    });

    expect({ outcome, aborted }).toEqual({ outcome: 'done', aborted: false });
  }, 60_000);
});

interface StallingRelay {
  url(databaseUrl: string): string;
  stall(): void;
  close(): void;
}

/** Relays TCP to `target`'s host and port until `stall()`, then drops every byte both ways. */
async function stallingRelay(target: URL): Promise<StallingRelay> {
  let stalled = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (databaseUrl) => {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    stall: () => {
      stalled = true;
    },
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
