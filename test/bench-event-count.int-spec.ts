import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { type EventCounter, openEventCounter } from '../bench/support/event-count';
import { type NewEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { appendInTransaction, openTransaction } from './support/open-transaction';
import { probeEvent } from './support/probe-event';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * The benchmarks' event counter (bench/support/event-count.ts) on a real PostgreSQL event store:
 * P1 and P5 report what it counts. On the store's own table it counts on from its last count, so
 * it must never pass over an append that commits late below a position it has counted past.
 */

const probe = (type: string): NewEvent => probeEvent('bench-event-count', type);

describe('bench event counter on the PostgreSQL event store', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let counter: EventCounter;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url, { poolSizeMax: 4 });
    counter = await openEventCounter('postgres', { databaseUrl: database.url });
  });

  afterAll(async () => {
    await counter.close();
    await store.close();
    await database.drop();
  });

  const appendOne = (type: string) => store.appendToStream(`count-${randomUUID()}`, [probe(type)], { expectedRevision: 'no_stream' });

  it('counts every event after the mark, on from its last count, and holds back a later one while an earlier append is in flight', async () => {
    const mark = await counter.mark();
    await store.appendToStream(`count-${randomUUID()}`, [probe('First'), probe('Second'), probe('Third')], { expectedRevision: 'no_stream' });
    expect(await counter.countSince(mark)).toBe(3);

    // An append that took its position first and has not committed yet, and a later one that has.
    const slow = await openTransaction(database.url);
    try {
      await appendInTransaction(slow, `count-${randomUUID()}`, probe('Held'));
      await appendOne('AfterHeld');
      expect(await counter.countSince(mark)).toBe(3);
    } catch (error) {
      await slow.end('ROLLBACK');
      throw error;
    }
    await slow.end('COMMIT');
    expect(await counter.countSince(mark)).toBe(5);
    expect(await counter.countSince(mark)).toBe(5);

    const check = new Client({ connectionString: database.url });
    await check.connect();
    try {
      const { rows } = await check.query<{ count: string }>('SELECT count(*)::text AS count FROM events WHERE global_position > $1', [(mark ?? 0n).toString()]);
      expect(Number(rows[0].count)).toBe(5);
    } finally {
      await check.end();
    }
  });

  it('counts from a new mark on its own, and from an earlier mark again in full', async () => {
    const first = await counter.mark();
    await appendOne('One');
    const second = await counter.mark();
    await appendOne('Two');
    await appendOne('Three');

    expect(await counter.countSince(second)).toBe(2);
    expect(await counter.countSince(first)).toBe(3);
    expect(await counter.countSince(second)).toBe(2);
  });
});

describe('bench event counter on another table (the P1 baseline)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await database.drop();
  });

  it('counts the rows above the mark', async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const counter = await openEventCounter('postgres', { databaseUrl: database.url, table: 'baseline_events' });
    try {
      await client.query('CREATE TABLE baseline_events (global_position bigserial PRIMARY KEY, payload text NOT NULL)');
      await client.query("INSERT INTO baseline_events (payload) VALUES ('a'), ('b')");
      const mark = await counter.mark();
      await client.query("INSERT INTO baseline_events (payload) VALUES ('c'), ('d'), ('e')");
      expect(await counter.countSince(mark)).toBe(3);
      expect(await counter.countSince(null)).toBe(5);
    } finally {
      await counter.close();
      await client.end();
    }
  });
});
