import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { allProjections, Projector, resetProjection } from '../projections';
import { usersProjection } from '../projections/users/users.projection';
import { userIdFromDiscordId } from '../src/identity/user/user.stream';
import { readCheckpoint } from '../src/platform/read-models/checkpoints';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { useDatabaseWithStore } from './support/test-database';

// The projector is killed with SIGKILL while a batch transaction is open, three times, then
// allowed to finish. Rows and checkpoint commit together, so after every kill the table holds
// exactly the events the checkpoint says, and the end result equals a rebuild from zero.
describe('projector killed mid-batch', () => {
  const users = 4_000;
  const suite = useDatabaseWithStore({ storeOptions: {} });

  beforeAll(async () => {
    const { store } = suite;
    const discordIds = Array.from({ length: users }, (_, n) => (500_000_000_000_000_000n + BigInt(n)).toString());
    for (let start = 0; start < discordIds.length; start += 50) {
      await Promise.all(
        discordIds.slice(start, start + 50).map((discordUserId, offset) => {
          const userId = userIdFromDiscordId(discordUserId);
          return store.appendToStream(
            `user-${userId}`,
            [
              {
                id: randomUUID(),
                type: 'UserRegistered',
                data: { userId, discordUserId, regionCode: offset % 3 === 0 ? null : 'EU', registeredAt: new Date(Date.UTC(2026, 10, 1, 0, 0, start + offset)).toISOString() },
                metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'crash-test' }, schemaVersion: 1 },
              },
            ],
            { expectedRevision: 'no_stream' },
          );
        }),
      );
    }
  });

  const usersRows = (): Promise<readonly unknown[]> =>
    suite.pool.any(sql.unsafe`SELECT user_id, discord_user_id, region_code, registered_at, stream_revision FROM users ORDER BY user_id`);

  const consistent = async (): Promise<{ rows: number; applied: number }> => {
    const rows = Number(await suite.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM users`));
    const applied = await suite.pool.maybeOneFirst(sql.unsafe`SELECT events_applied FROM projection_checkpoints WHERE projection_name = 'users'`);
    return { rows, applied: applied === null ? 0 : Number(applied) };
  };

  /** A projector transaction that has written something holds a transaction id until it ends. */
  const batchInFlight = async (): Promise<true | undefined> => {
    const writers = await suite.pool.oneFirst(sql.unsafe`
      SELECT count(*)::int FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`);
    return Number(writers) > 0 ? true : undefined;
  };

  it('loses nothing, applies nothing twice, and ends equal to a rebuild from zero', async () => {
    const { database, pool, store } = suite;
    const head = await store.headPosition();
    const env = childEnv({ DATABASE_URL: database.url, PROJECTOR_BATCH_SIZE: '200' });
    const progress: number[] = [];

    for (let kill = 1; kill <= 3; kill += 1) {
      const projector = startBuiltEntry('projector.main.js', env);
      try {
        await eventually('a projector batch transaction in flight', batchInFlight, 30_000, 1);
        projector.child.kill('SIGKILL');
        expect((await waitForExit(projector.child)).signal).toBe('SIGKILL');
      } catch (error) {
        projector.child.kill('SIGKILL');
        throw new Error(`${(error as Error).message}\n${projector.output()}`);
      }
      const state = await consistent();
      expect(state.rows).toBe(state.applied);
      progress.push(state.applied);
    }
    expect(progress[2]).toBeLessThan(users);

    const finisher = startBuiltEntry('projector.main.js', env);
    await eventually('the projector to catch up', async () => ((await readCheckpoint(pool, 'users')) === head ? true : undefined), 60_000);
    finisher.child.kill('SIGTERM');
    expect((await waitForExit(finisher.child)).code).toBe(0);
    const afterCrashes = await usersRows();
    expect(await consistent()).toEqual({ rows: users, applied: users });

    await resetProjection(pool, usersProjection);
    expect(await consistent()).toEqual({ rows: 0, applied: 0 });
    const rebuild = new Projector(pool, store, allProjections);
    rebuild.start();
    await eventually('the rebuild to catch up', async () => ((await readCheckpoint(pool, 'users')) === head ? true : undefined), 60_000);
    await rebuild.stop();

    expect(await usersRows()).toEqual(afterCrashes);
    expect(await consistent()).toEqual({ rows: users, applied: users });
  });
});
