import { randomUUID } from 'node:crypto';
import { type EventFilter, type NewEvent, type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { probeEvent } from './support/probe-event';

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => probeEvent('shared-tail-test', type, data);

/**
 * A process's subscriptions near the head share one read of new events (the store's tail); one
 * behind the tail reads on its own until it reaches it. Whatever their filters and positions, each
 * must see exactly the events a read of $all with its filter returns, in order, once.
 */
describe('PostgreSQL subscriptions sharing the tail of $all', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let writer: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url, { pollIntervalMs: 50, subscriptionBatchSizeMax: 40 });
    // A second instance writes too: its appends reach the first through NOTIFY and polling.
    writer = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
  });

  afterAll(async () => {
    await writer.close();
    await store.close();
    await database.drop();
  });

  async function collect(from: bigint | null, filter: EventFilter | undefined, expected: number): Promise<{ seen: RecordedEvent[]; done: Promise<void>; close: () => Promise<void> }> {
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ fromPosition: from, filter });
    const done = (async () => {
      for await (const recorded of subscription) {
        seen.push(recorded);
        if (seen.length === expected) return;
      }
    })();
    return { seen, done, close: () => subscription.close() };
  }

  it('gives every subscription exactly its events in order, near the head, behind it, and ahead of it', async () => {
    const prefix = randomUUID().slice(0, 8);
    const categories = [`tailred${prefix}`, `tailblue${prefix}`];
    // Some history first, so that one subscription starts well behind the others.
    for (let n = 0; n < 120; n += 1) {
      await writer.appendToStream(`${categories[n % 2]}-history${n}`, [event(n % 3 === 0 ? 'Rare' : 'Common', { n })], { expectedRevision: 'no_stream' });
    }
    const start = await store.headPosition();
    const writers = 6;
    const appendsPerWriter = 60;
    const fresh = writers * appendsPerWriter;

    const filters: ReadonlyArray<{ from: bigint | null; filter: EventFilter | undefined }> = [
      { from: start, filter: undefined },
      { from: start, filter: { kind: 'category', categories: [categories[0]] } },
      { from: start, filter: { kind: 'eventType', eventTypes: ['Rare'] } },
      { from: null, filter: { kind: 'category', categories } },
      { from: null, filter: { kind: 'eventType', eventTypes: ['Rare'] } },
    ];
    const all = async (from: bigint | null, filter: EventFilter | undefined): Promise<RecordedEvent[]> =>
      (await store.readAll({ fromPosition: from, maxCount: 10_000, filter })).filter((recorded) => recorded.streamName.includes(prefix));
    const expectedCounts = filters.map(({ from, filter }) => {
      const ofFresh = filter === undefined ? fresh : filter.kind === 'category' && filter.categories.length === 1 ? fresh / 2 : filter.kind === 'category' ? fresh : fresh / 3;
      const ofHistory = from === null ? (filter?.kind === 'eventType' ? 40 : 120) : 0;
      return ofFresh + ofHistory;
    });
    // Far ahead of everything: it must not make the others skip what it skips.
    const ahead = store.subscribeToAll({ fromPosition: (start ?? 0n) + 1_000_000n });
    const aheadReading = (async () => {
      for await (const recorded of ahead) void recorded;
    })();
    const subscriptions = await Promise.all(filters.map(({ from, filter }, index) => collect(from, filter, expectedCounts[index])));

    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const by = w % 2 === 0 ? store : writer;
        for (let n = 0; n < appendsPerWriter; n += 1) {
          const serial = w * appendsPerWriter + n;
          await by.appendToStream(`${categories[serial % 2]}-w${w}n${n}`, [event(serial % 3 === 0 ? 'Rare' : 'Common', { w, n })], { expectedRevision: 'no_stream' });
        }
      }),
    );
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`saw ${subscriptions.map((subscription) => subscription.seen.length).join(', ')} of ${expectedCounts.join(', ')}`)), 20_000).unref(),
    );
    await Promise.race([Promise.all(subscriptions.map((subscription) => subscription.done)), timeout]);
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await ahead.close();
    await aheadReading;

    for (const [index, { from, filter }] of filters.entries()) {
      const seen = subscriptions[index].seen.filter((recorded) => recorded.streamName.includes(prefix));
      expect(seen.map((recorded) => recorded.id)).toEqual((await all(from, filter)).map((recorded) => recorded.id));
      expect(seen).toHaveLength(expectedCounts[index]);
    }
  });
});
