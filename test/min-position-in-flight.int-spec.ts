import { randomUUID } from 'node:crypto';
import { type NewEvent } from '../src/platform/event-store/event-store.port';
import { awaitReadModels, lockCheckpoint, writeCheckpoint } from '../src/platform/read-models/checkpoints';
import { appendInTransaction, openTransaction } from './support/open-transaction';
import { useDatabaseWithStore } from './support/test-database';

const probe = (type: string): NewEvent => ({
  id: randomUUID(),
  type,
  data: {},
  metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'min-position' }, schemaVersion: 1 },
});

/**
 * `?minPosition=` of an event a command was answered, while an older append is still in flight:
 * the head stops before that append, but the position came from a command, so a read model behind
 * it is 503 read_model_behind (retry), never 422 invalid_min_position (do not).
 */
describe('minPosition behind an append in flight', () => {
  const suite = useDatabaseWithStore();

  it('is a read model behind (503), and a position past every event stored is still bad input (422)', async () => {
    const { database, pool, store } = suite;
    await pool.transaction(async (transaction) => {
      await lockCheckpoint(transaction, 'users');
      await writeCheckpoint(transaction, 'users', null, 0);
    });
    const slow = await openTransaction(database.url);
    try {
      await appendInTransaction(slow, `user-${randomUUID()}`, probe('SlowAppend'));
      const returned = await store.appendToStream(`user-${randomUUID()}`, [probe('FastAppend')], { expectedRevision: 'no_stream' });
      const outcomeOf = (position: bigint): Promise<string> =>
        awaitReadModels(pool, store, ['users'], position, 300).then(
          () => 'answered',
          (error: { code?: string; status?: number }) => `${String(error.code)} ${String(error.status)}`,
        );

      expect(await store.headPosition()).toBeNull();
      expect(await store.lastPosition()).toBe(returned.position);
      expect(await outcomeOf(returned.position)).toBe('read_model_behind 503');
      expect(await outcomeOf(returned.position + 1n)).toBe('invalid_min_position 422');
    } finally {
      await slow.end('COMMIT');
    }
  });
});
