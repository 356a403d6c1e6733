import { randomUUID } from 'node:crypto';
import { type Pool } from 'pg';
import { type NewEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { probeEvent } from './support/probe-event';

const probe = (type: string, data: Record<string, unknown> = {}): NewEvent => probeEvent('gathered-reads-test', type, data);

/**
 * Stream reads asked for while others are on their way go out together, in one statement. Each
 * caller must still get exactly its own range of its own stream. One statement at a time forces
 * every concurrent read into a group; the pool's query calls show how many statements went out.
 */
describe('PostgreSQL stream reads gathered into one statement', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url, { readStatementsMax: 1 });
    // The adapter's own pool, to count the statements it sends.
    pool = store['pool'];
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  const readStatements = (spy: jest.SpyInstance): number =>
    spy.mock.calls.filter(([text]) => typeof text === 'string' && text.includes('FROM events')).length;

  async function writeStreams(count: number): Promise<string[]> {
    const prefix = `gathered${randomUUID().slice(0, 8)}-`;
    const streams = Array.from({ length: count }, (_, s) => `${prefix}${s}`);
    await Promise.all(streams.map((stream, s) => store.appendToStream(stream, Array.from({ length: (s % 4) + 1 }, (_, n) => probe('Step', { s, n })), { expectedRevision: 'no_stream' })));
    return streams;
  }

  it('answers each of 60 concurrent reads with its own events, in far fewer statements', async () => {
    const streams = await writeStreams(20);
    const spy = jest.spyOn(pool, 'query');
    const asks = [
      ...streams.map((stream) => ({ stream, options: {} })),
      ...streams.map((stream) => ({ stream, options: { fromRevision: 1n, maxCount: 2 } })),
      ...streams.map((stream) => ({ stream: `${stream}-missing`, options: {} })),
    ];

    const answers = await Promise.all(asks.map((ask) => store.readStream(ask.stream, ask.options)));

    answers.forEach((answer, index) => {
      const s = index % 20;
      const length = (s % 4) + 1;
      const expected = index < 20 ? Array.from({ length }, (_, n) => n) : index < 40 ? [1, 2].filter((n) => n < length) : [];
      expect(answer.map((event) => [event.streamName, event.revision, event.data.n])).toEqual(expected.map((n) => [asks[index].stream, BigInt(n), n]));
    });
    // The first read goes out alone; the 59 that queue behind it go out together.
    expect(readStatements(spy)).toBeLessThanOrEqual(2);
  });

  it('fails every read of a statement that failed, and serves the reads after it', async () => {
    const streams = await writeStreams(6);
    const failure = new Error('the statement failed');
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    // The first read goes out alone and is answered; the five gathered behind it fail together.
    // Only read statements are counted: the notifications of the appends above may still be on
    // their way (one per 50 ms), and they must go through untouched.
    let reads = 0;
    jest.spyOn(pool, 'query').mockImplementation(((...args: unknown[]) => {
      const isRead = typeof args[0] === 'string' && args[0].includes('FROM events');
      if (isRead) reads += 1;
      return isRead && reads === 2 ? Promise.reject(failure) : query(...args);
    }) as never);

    const outcomes = await Promise.allSettled(streams.map((stream) => store.readStream(stream)));

    expect(outcomes[0].status).toBe('fulfilled');
    expect(outcomes.slice(1).map((outcome) => (outcome.status === 'rejected' ? outcome.reason : outcome.value))).toEqual(streams.slice(1).map(() => failure));
    expect(reads).toBe(2);
    jest.restoreAllMocks();
    expect((await Promise.all(streams.map((stream) => store.readStream(stream)))).map((events) => events.length)).toEqual([1, 2, 3, 4, 1, 2]);
  });

  it('finishes the reads it accepted before it closes', async () => {
    const own = new PostgresEventStore(database.url, { readStatementsMax: 1 });
    const streams = await writeStreams(10);

    const reads = Promise.all(streams.map((stream) => own.readStream(stream)));
    await own.close();

    expect((await reads).map((events) => events.length)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
    await expect(own.readStream(streams[0])).rejects.toThrow('closed');
  });
});
