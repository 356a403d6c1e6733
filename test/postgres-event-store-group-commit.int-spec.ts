import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { probeEvent } from './support/probe-event';

const probe = (type: string, data: Record<string, unknown> = {}): NewEvent => probeEvent('group-commit-test', type, data);

/**
 * Appends made while others are on their way go out together, in one append_to_streams statement
 * (migrations/0016). Each caller must still get exactly the answer it would have got alone, and
 * $all must stay gap-safe. One statement at a time forces every concurrent append into a group.
 */
describe('PostgreSQL appends gathered into one statement', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let sql: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url, { appendStatementsMax: 1, subscriptionBatchSizeMax: 50, pollIntervalMs: 20 });
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql.end();
    await store.close();
    await database.drop();
  });

  const transactionsOf = async (prefix: string): Promise<number> =>
    Number((await sql.query<{ n: string }>('SELECT count(DISTINCT transaction_id)::text AS n FROM events WHERE stream_name LIKE $1', [`${prefix}%`])).rows[0].n);

  it('answers each caller for its own stream, in fewer commits than appends', async () => {
    const prefix = `together${randomUUID().slice(0, 8)}-`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) => store.appendToStream(`${prefix}${n}`, [probe('First', { n }), probe('Second', { n })], { expectedRevision: 'no_stream' })),
    );

    expect(results.map((result) => result.nextRevision)).toEqual(results.map(() => 1n));
    expect(new Set(results.map((result) => result.position)).size).toBe(50);
    for (let n = 0; n < 50; n += 1) {
      const stream = await store.readStream(`${prefix}${n}`);
      expect(stream.map((event) => [event.type, event.data.n, event.revision])).toEqual([
        ['First', n, 0n],
        ['Second', n, 1n],
      ]);
      expect(stream[1].position).toBe(results[n].position);
    }
    expect(await transactionsOf(prefix)).toBeLessThan(50);
  });

  it('refuses only the append whose expectation is wrong, and writes the others of its statement', async () => {
    const prefix = `mixed${randomUUID().slice(0, 8)}-`;
    await store.appendToStream(`${prefix}taken`, [probe('Existing')], { expectedRevision: 'no_stream' });
    await store.appendToStream(`${prefix}exact`, [probe('Existing')], { expectedRevision: 'no_stream' });

    // The first append goes out alone; the others wait for it and go out together.
    const outcomes = await Promise.allSettled([
      store.appendToStream(`${prefix}a`, [probe('Fine')], { expectedRevision: 'no_stream' }),
      store.appendToStream(`${prefix}taken`, [probe('Refused')], { expectedRevision: 'no_stream' }),
      store.appendToStream(`${prefix}exact`, [probe('Refused')], { expectedRevision: 5n }),
      store.appendToStream(`${prefix}missing`, [probe('Refused')], { expectedRevision: 'stream_exists' }),
      store.appendToStream(`${prefix}exact`, [probe('Next')], { expectedRevision: 0n }),
      store.appendToStream(`${prefix}b`, [probe('Fine')], { expectedRevision: 'any' }),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(refusals.every((reason) => reason instanceof WrongExpectedRevisionError)).toBe(true);
    expect(refusals.map((reason) => (reason as WrongExpectedRevisionError).actual)).toEqual([0n, 0n, null]);
    expect((await store.readStream(`${prefix}taken`)).map((event) => event.type)).toEqual(['Existing']);
    expect((await store.readStream(`${prefix}exact`)).map((event) => event.type)).toEqual(['Existing', 'Next']);
    expect(await store.readStream(`${prefix}missing`)).toEqual([]);
    expect((await store.readStream(`${prefix}a`)).map((event) => event.type)).toEqual(['Fine']);
  });

  it('refuses only the append that cannot be encoded, and writes the others that went out with it', async () => {
    const prefix = `unencodable${randomUUID().slice(0, 8)}-`;

    // The first append goes out alone; the others wait for it, the bad one among them.
    const outcomes = await Promise.allSettled([
      store.appendToStream(`${prefix}a`, [probe('Fine')], { expectedRevision: 'no_stream' }),
      store.appendToStream(`${prefix}b`, [probe('Fine')], { expectedRevision: 'no_stream' }),
      store.appendToStream(`${prefix}bad`, [probe('Fine'), probe('AmountCredited', { amount: 5n })], { expectedRevision: 'no_stream' }),
      store.appendToStream(`${prefix}c`, [probe('Fine')], { expectedRevision: 'no_stream' }),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/AmountCredited.*unencodable.*-bad/);
    expect(await store.readStream(`${prefix}bad`)).toEqual([]);
    for (const stream of ['a', 'b', 'c']) expect((await store.readStream(`${prefix}${stream}`)).map((event) => event.type)).toEqual(['Fine']);
  }, 10_000);

  it('keeps one stream\'s appends in the order they were made, each in its own statement', async () => {
    const stream = `ordered-${randomUUID()}`;
    const appends = Array.from({ length: 5 }, (_, n) =>
      store.appendToStream(stream, [probe('Step', { n })], { expectedRevision: n === 0 ? 'no_stream' : BigInt(n - 1) }),
    );
    const results = await Promise.all(appends);

    expect(results.map((result) => result.nextRevision)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect((await store.readStream(stream)).map((event) => event.data.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('answers the same events appended again idempotently, also among other appends', async () => {
    const stream = `again-${randomUUID()}`;
    const events = [probe('Once'), probe('Twice')];
    const first = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });

    // The first append goes out alone; the two after it wait for it and go out together.
    const [, again, other] = await Promise.all([
      store.appendToStream(`again-blocker-${randomUUID()}`, [probe('Blocker')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream, events, { expectedRevision: 'no_stream' }),
      store.appendToStream(`again-other-${randomUUID()}`, [probe('Other')], { expectedRevision: 'no_stream' }),
    ]);

    expect(again).toEqual(first);
    expect(other.nextRevision).toBe(0n);
    expect(await store.readStream(stream)).toHaveLength(2);
  });

  it('answers a repeat among other appends with the original append\'s result after the stream moved on', async () => {
    const stream = `moved-${randomUUID()}`;
    const events = [probe('Once'), probe('Twice')];
    const first = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });
    await store.appendToStream(stream, [probe('Later')], { expectedRevision: first.nextRevision });

    // The first append goes out alone; the two after it wait for it and go out together.
    const [, again, other] = await Promise.all([
      store.appendToStream(`moved-blocker-${randomUUID()}`, [probe('Blocker')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream, events, { expectedRevision: 'no_stream' }),
      store.appendToStream(`moved-other-${randomUUID()}`, [probe('Other')], { expectedRevision: 'no_stream' }),
    ]);

    expect(again).toEqual({ nextRevision: 1n, position: first.position });
    expect(other.nextRevision).toBe(0n);
    expect((await store.readStream(stream)).map((event) => event.type)).toEqual(['Once', 'Twice', 'Later']);
  });

  it('delivers every event of gathered appends exactly once and in position order to a reader', async () => {
    const writers = 30;
    const appendsPerWriter = 40;
    const expected = writers * appendsPerWriter;
    const start = await store.headPosition();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ fromPosition: start, filter: { kind: 'eventType', eventTypes: ['GroupProbe'] } });
    const reading = (async () => {
      for await (const event of subscription) {
        seen.push(event);
        if (seen.length === expected) break;
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const stream = `gap-group-${writer}-${randomUUID()}`;
        for (let n = 0; n < appendsPerWriter; n += 1) {
          await store.appendToStream(stream, [probe('GroupProbe', { writer, n })], { expectedRevision: n === 0 ? 'no_stream' : BigInt(n - 1) });
        }
      }),
    );
    await Promise.race([
      reading,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`subscriber saw ${seen.length} of ${expected}`)), 15_000).unref()),
    ]);
    await subscription.close();

    expect(new Set(seen.map((event) => event.id)).size).toBe(expected);
    expect(seen.filter((event, n) => n > 0 && !(seen[n - 1].position < event.position))).toEqual([]);
    const everything = await store.readAll({ fromPosition: start, maxCount: expected + 10, filter: { kind: 'eventType', eventTypes: ['GroupProbe'] } });
    expect(everything.map((event) => event.id)).toEqual(seen.map((event) => event.id));
  });
});
