import { randomUUID } from 'node:crypto';
import { freePort } from '../src/platform/database/embedded-postgres';
import { EventStoreUnavailableError, type NewEvent, type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from './support/test-database';
import { appendInTransaction, openTransaction } from './support/open-transaction';
import { probeEvent } from './support/probe-event';

const probe = (type: string, data: Record<string, unknown> = {}): NewEvent => probeEvent('gap-test', type, data);

// Sequence values commit out of order under concurrent transactions. A reader that trusted them
// would skip events. This is the test that proves the PostgreSQL store never lets that happen.
describe('PostgreSQL $all under concurrent writers', () => {
  const writers = 8;
  const appendsPerWriter = 500;
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url, { poolSizeMax: writers + 4, subscriptionBatchSizeMax: 50, pollIntervalMs: 20 });
  });

  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('delivers every event exactly once and in position order to a subscriber reading while 8 writers append', async () => {
    const expected = writers * appendsPerWriter;
    const written = new Set<string>();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ fromPosition: null });
    const reading = (async () => {
      for await (const event of subscription) {
        seen.push(event);
        if (seen.length === expected) break;
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const stream = `gap-${writer}-${randomUUID()}`;
        for (let n = 0; n < appendsPerWriter; n += 1) {
          const event: NewEvent = {
            id: randomUUID(),
            type: 'GapProbe',
            data: { writer, n },
            metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'gap-test' }, schemaVersion: 1 },
          };
          written.add(event.id);
          await store.appendToStream(stream, [event], { expectedRevision: n === 0 ? 'no_stream' : BigInt(n - 1) });
        }
      }),
    );
    await Promise.race([
      reading,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`subscriber saw ${seen.length} of ${expected}`)), 15_000).unref()),
    ]);
    await subscription.close();

    expect(seen).toHaveLength(expected);
    expect(new Set(seen.map((event) => event.id)).size).toBe(expected);
    expect(seen.every((event) => written.has(event.id))).toBe(true);
    const outOfOrder = seen.filter((event, n) => n > 0 && !(seen[n - 1].position < event.position));
    expect(outOfOrder).toEqual([]);
    // Nothing more arrives later: a late-committed event would have been skipped for good.
    const everything = await store.readAll({ fromPosition: null, maxCount: expected + 10 });
    expect(everything.map((event) => event.id)).toEqual(seen.map((event) => event.id));
  });

  it('holds a committed event back from $all while an earlier append is still in flight, then delivers both in order', async () => {
    const start = await store.headPosition();
    const slow = await openTransaction(database.url);
    const slowEvent = probe('SlowAppend');
    await appendInTransaction(slow, `held-${randomUUID()}`, slowEvent);
    const fast = await store.appendToStream(`held-${randomUUID()}`, [probe('FastAppend')], { expectedRevision: 'no_stream' });

    const whileInFlight = await store.readAll({ fromPosition: start, maxCount: 10 });
    await slow.end('COMMIT');
    const afterCommit = await store.readAll({ fromPosition: start, maxCount: 10 });

    expect(whileInFlight).toEqual([]);
    expect(afterCommit.map((event) => event.type)).toEqual(['SlowAppend', 'FastAppend']);
    expect(afterCommit[1].position).toBe(fast.position);
  });

  it('does not hold $all readers back for transactions that are not appends, in this database or another', async () => {
    const start = await store.headPosition();
    const here = await openTransaction(database.url);
    await here.client.query('CREATE TEMP TABLE busy (id int); INSERT INTO busy VALUES (1)');
    await here.client.query('SELECT pg_current_xact_id()');
    const elsewhere = await openTransaction(adminDatabaseUrl());
    await elsewhere.client.query('SELECT pg_current_xact_id()');
    try {
      const appended = await store.appendToStream(`free-${randomUUID()}`, [probe('NotHeldBack')], { expectedRevision: 'no_stream' });

      const read = await store.readAll({ fromPosition: start, maxCount: 10 });

      expect(read.map((event) => event.position)).toEqual([appended.position]);
      expect(await store.headPosition()).toBe(appended.position);
    } finally {
      await here.end('ROLLBACK');
      await elsewhere.end('ROLLBACK');
    }
  });

  it('wakes a caught-up subscriber through LISTEN/NOTIFY long before its polling interval', async () => {
    const slowPolling = new PostgresEventStore(database.url, { pollIntervalMs: 30_000 });
    const category = `notify${randomUUID().slice(0, 8)}`;
    const subscription = slowPolling.subscribeToAll({ fromPosition: await slowPolling.headPosition(), filter: { kind: 'category', categories: [category] } });
    const iterator = subscription[Symbol.asyncIterator]();
    try {
      const first = iterator.next();
      // Let the subscription read, find nothing, start listening and settle into its wait.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const appendedAt = Date.now();
      await store.appendToStream(`${category}-${randomUUID()}`, [probe('Notified')], { expectedRevision: 'no_stream' });

      const delivered = await first;

      expect(delivered.done).toBe(false);
      expect(Date.now() - appendedAt).toBeLessThan(5_000);
    } finally {
      await subscription.close();
      await slowPolling.close();
    }
  });
});

describe('PostgreSQL event store that cannot be reached', () => {
  it('reports EventStoreUnavailableError for appends and reads', async () => {
    const port = await freePort();
    const store = new PostgresEventStore(`postgres://postgres@127.0.0.1:${port}/nowhere`, { connectionTimeoutMs: 2_000 });
    try {
      await expect(store.appendToStream('user-x', [probe('Lost')], { expectedRevision: 'any' })).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.readStream('user-x')).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.readAll({ maxCount: 1 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.headPosition()).rejects.toThrow(/event store unavailable/);
    } finally {
      await store.close();
    }
  });
});
