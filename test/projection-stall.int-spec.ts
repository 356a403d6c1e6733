import { sql } from 'slonik';
import { z } from 'zod';
import { allProjections, Projector } from '../projections';
import { verifyProjections } from '../projections/runtime/verify';
import { readCheckpoints } from '../src/platform/read-models/checkpoints';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { useDatabaseWithStore } from './support/test-database';
import { projectionBatchInFlight, projectionEventsUpTo } from './support/projection-progress';
import { appendUserHistory } from './support/user-history';

/*
 * A projector process that stalls inside a batch (SIGSTOP here; a frozen VM or a network path gone
 * silent does the same) holds its projection's checkpoint row in an open transaction. Its TCP
 * connection stays open (a stopped process's kernel still answers keepalives), so nothing on the
 * client's side ends it, and every other runner of that projection waits behind the row until the
 * server ends the session. The projector bounds how long its batch transaction may sit idle
 * (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS, short here; slonik's session default of 60 s before): the
 * server ends the stalled session, another runner takes the row over, and the stalled process,
 * resumed, fails that batch, goes on from the checkpoint, and applies nothing twice.
 */
describe('a projector process stalled inside a batch', () => {
  const suite = useDatabaseWithStore();

  let users = 0;
  /** The next users' histories, as the deciders make them (appendUserHistory). */
  async function playUsers(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      await appendUserHistory(suite.store, users, { t0: Date.UTC(2026, 10, 1), discordBase: 720000000000000000n, actor: 'stall-test' });
      users += 1;
    }
  }

  const batchInFlight = (): Promise<true | undefined> => projectionBatchInFlight(suite.pool);

  /** The projections whose checkpoint row another session holds locked, with their committed positions. */
  const heldCheckpoints = (): Promise<ReadonlyMap<string, bigint | null>> =>
    suite.pool.transaction(async (transaction) => {
      const free = new Set(await transaction.anyFirst(sql.type(z.object({ projection_name: z.string() }))`
        SELECT projection_name FROM projection_checkpoints FOR UPDATE SKIP LOCKED`));
      const rows = await readCheckpoints(transaction);
      return new Map(rows.filter((row) => !free.has(row.projection_name)).map((row) => [row.projection_name, row.position]));
    });

  /** Every projection's committed checkpoint at `head` or past it. */
  const allAt = (head: bigint) => async (): Promise<true | undefined> => {
    const rows = await readCheckpoints(suite.pool);
    const behind = allProjections.filter((projection) => {
      const position = rows.find((row) => row.projection_name === projection.name)?.position;
      return position === undefined || position === null || position < head;
    });
    return behind.length === 0 ? true : undefined;
  };

  it('holds the checkpoint row only until the server ends its idle transaction; resumed, it retries from the checkpoint and applies every event once', async () => {
    await playUsers(300);
    const env = childEnv({ DATABASE_URL: suite.database.url, PROJECTOR_BATCH_SIZE: '50', PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS: '2' });
    const stalled = startBuiltEntry('projector.main.js', env);
    const other = new Projector(suite.pool, suite.store, allProjections, { batchSizeMax: 50, retryDelayMinMs: 10, retryDelayMaxMs: 200 });
    let otherStarted = false;
    try {
      // Once every checkpoint row is there (a first batch inserts its row, which no other session
      // sees until it commits), SIGSTOP while a batch is open; should its COMMIT slip in first,
      // try again.
      await eventually('a checkpoint row of every projection', async () => ((await readCheckpoints(suite.pool)).length >= allProjections.length ? true : undefined), 30_000, 1);
      let held: ReadonlyMap<string, bigint | null> = new Map();
      for (let attempt = 1; held.size === 0; attempt += 1) {
        if (attempt > 20) throw new Error('never caught the projector process inside a batch');
        await eventually('a batch of the projector process in flight', batchInFlight, 30_000, 1);
        stalled.child.kill('SIGSTOP');
        held = await heldCheckpoints();
        if (held.size === 0) stalled.child.kill('SIGCONT');
      }
      const head = await suite.store.headPosition();
      if (head === null) throw new Error('no events');
      for (const position of held.values()) expect(position === null || position < head).toBe(true);

      // A second runner (the API's in-process projector) takes the row over once the server has
      // ended the stalled transaction, and brings every projection to the head.
      other.start();
      otherStarted = true;
      await eventually(`the other runner to apply past the stalled batch of ${[...held.keys()].join(', ')}`, allAt(head), 60_000);
      expect(await heldCheckpoints()).toEqual(new Map());

      // Resumed, the stalled process finds its connection ended: it fails the batch and carries on.
      stalled.child.kill('SIGCONT');
      await playUsers(20);
      await other.stop();
      otherStarted = false;
      await playUsers(20);
      const last = await suite.store.headPosition();
      await eventually('the resumed process alone to apply the last events', allAt(last as bigint), 60_000);
      expect(stalled.output()).toMatch(/"error":"[^"]*idle-in-transaction timeout[^"]*","msg":"projection batch failed/);
      stalled.child.kill('SIGTERM');
      expect(await waitForExit(stalled.child)).toEqual({ code: 0, signal: null });
    } catch (error) {
      stalled.child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${stalled.output()}`);
    } finally {
      if (otherStarted) await other.stop();
    }

    // Each checkpoint counts every event of its projection once, and the read models equal a rebuild.
    for (const row of await readCheckpoints(suite.pool)) {
      const projection = allProjections.find((candidate) => candidate.name === row.projection_name);
      if (projection === undefined) continue;
      expect({ name: row.projection_name, applied: row.events_applied }).toEqual({ name: row.projection_name, applied: await projectionEventsUpTo(suite.store, projection, row.position) });
    }
    const report = await verifyProjections(suite.pool, suite.store, allProjections);
    expect(report.differences).toBe(0);
  }, 240_000);
});
