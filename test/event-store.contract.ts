import { randomBytes, randomUUID } from 'node:crypto';
import {
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type NewEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from '../src/platform/event-store/event-store.port';

/**
 * The event-store contract. Every adapter must pass all of it. No EventStoreDB runs where this
 * project is developed, so the suite is deliberately strict: it pins down revisions, conflicts,
 * idempotence, ordering, filters and subscription resumption exactly as the port documents them.
 *
 * Each test works in its own category (a random prefix), and reads `$all` only after a position
 * taken at its start, so it also runs against a shared, non-empty EventStoreDB.
 */
export function describeEventStoreContract(
  adapterName: string,
  connect: () => Promise<{ store: EventStore; dispose: () => Promise<void> }>,
): void {
  describe(`event store contract: ${adapterName}`, () => {
    let store: EventStore;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ store, dispose } = await connect());
    });

    afterAll(async () => {
      await dispose();
    });

    const metadata = (extra: Record<string, unknown> = {}): EventMetadata => ({
      correlationId: randomUUID(),
      causationId: null,
      actor: { kind: 'system', name: 'contract-test' },
      schemaVersion: 1,
      ...extra,
    });
    const event = (type: string, data: Record<string, unknown> = {}, id = randomUUID()): NewEvent => ({
      id,
      type,
      data,
      metadata: metadata(),
    });
    const newCategory = (): string => `ct${randomBytes(6).toString('hex')}`;
    const newStream = (category = newCategory()): string => `${category}-${randomUUID()}`;

    async function startPosition(): Promise<bigint | null> {
      return store.headPosition();
    }

    async function readCategory(category: string, from: bigint | null, maxCount = 10_000): Promise<RecordedEvent[]> {
      return store.readAll({ fromPosition: from, maxCount, filter: { kind: 'category', categories: [category] } });
    }

    async function expectWrongRevision(promise: Promise<unknown>, actual: bigint | null): Promise<void> {
      const error = await promise.then(
        () => {
          throw new Error('the append was expected to fail with WrongExpectedRevisionError');
        },
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe(actual);
    }

    describe('appending and reading a stream', () => {
      it('creates a stream with no_stream and reads the events back in order, with everything they carried', async () => {
        const stream = newStream();
        const first = event('ThingCreated', { name: 'Zoë 🍌', amountRaw: '100000000000000000000000000000', nested: { list: [1, 2, 3] } });
        const second: NewEvent = {
          id: randomUUID(),
          type: 'ThingRenamed',
          data: { name: 'x' },
          metadata: metadata({ causationId: first.id, requestId: 'req-1', actor: { kind: 'admin', name: 'ops' } }),
        };

        const result = await store.appendToStream(stream, [first, second], { expectedRevision: 'no_stream' });

        expect(result.nextRevision).toBe(1n);
        const events = await store.readStream(stream);
        expect(events.map((e) => [e.id, e.type, e.revision, e.streamName])).toEqual([
          [first.id, 'ThingCreated', 0n, stream],
          [second.id, 'ThingRenamed', 1n, stream],
        ]);
        expect(events[0].data).toEqual(first.data);
        expect(events[0].metadata).toEqual(first.metadata);
        expect(events[1].metadata).toEqual(second.metadata);
        expect(events[1].metadata.actor).toEqual({ kind: 'admin', name: 'ops' });
        expect(events[0].createdAt).toBeInstanceOf(Date);
        expect(Math.abs(events[0].createdAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(events[1].position).toBe(result.position);
        expect(events[0].position < events[1].position).toBe(true);
      });

      it('reads a missing stream as empty', async () => {
        expect(await store.readStream(newStream())).toEqual([]);
      });

      it('reads from a revision, and at most maxCount events', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [1, 2, 3, 4, 5].map((n) => event('Counted', { n })), { expectedRevision: 'no_stream' });

        const fromTwo = await store.readStream(stream, { fromRevision: 2n });
        const twoFromOne = await store.readStream(stream, { fromRevision: 1n, maxCount: 2 });
        const pastTheEnd = await store.readStream(stream, { fromRevision: 5n });
        // The revision after the largest a paging cursor can name (2^63 − 1), as a caller reads on from it.
        const pastTheLargest = await store.readStream(stream, { fromRevision: 2n ** 63n });

        expect(fromTwo.map((e) => e.data.n)).toEqual([3, 4, 5]);
        expect(twoFromOne.map((e) => e.revision)).toEqual([1n, 2n]);
        expect(pastTheEnd).toEqual([]);
        expect(pastTheLargest).toEqual([]);
      });

      it('answers many reads at once, each with its own range of its own stream', async () => {
        const category = newCategory();
        const streams = Array.from({ length: 12 }, () => newStream(category));
        await Promise.all(
          streams.map((stream, s) => store.appendToStream(stream, Array.from({ length: s + 1 }, (_, n) => event('Counted', { s, n })), { expectedRevision: 'no_stream' })),
        );
        const asks: Array<{ stream: string; s: number; options: ReadStreamOptions }> = streams.flatMap((stream, s) => [
          { stream, s, options: {} },
          { stream, s, options: { fromRevision: BigInt(Math.floor(s / 2)) } },
          { stream, s, options: { fromRevision: 1n, maxCount: 3 } },
          { stream, s, options: { maxCount: 0 } },
        ]);
        asks.push({ stream: newStream(category), s: -1, options: {} });

        const answers = await Promise.all(asks.map((ask) => store.readStream(ask.stream, ask.options)));

        answers.forEach((answer, index) => {
          const { stream, s, options } = asks[index];
          const from = Number(options.fromRevision ?? 0n);
          const count = options.maxCount ?? Number.POSITIVE_INFINITY;
          const expected = Array.from({ length: s + 1 }, (_, n) => n).filter((n) => n >= from).slice(0, count);
          expect(answer.map((e) => [e.streamName, e.revision, e.data.s, e.data.n])).toEqual(expected.map((n) => [stream, BigInt(n), s, n]));
        });
      });

      it('lets a read asked for after an append completed see it, also among many reads', async () => {
        const streams = Array.from({ length: 20 }, () => newStream());
        const seen = await Promise.all(
          streams.map(async (stream) => {
            const counts: number[] = [];
            for (let n = 0; n < 5; n += 1) {
              await store.appendToStream(stream, [event('Step', { n })], { expectedRevision: n === 0 ? 'no_stream' : BigInt(n - 1) });
              counts.push((await store.readStream(stream)).length);
            }
            return counts;
          }),
        );

        expect(seen).toEqual(streams.map(() => [1, 2, 3, 4, 5]));
      });

      it('refuses a negative fromRevision or maxCount, and a fractional maxCount, without failing other reads', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('Kept')], { expectedRevision: 'no_stream' });

        const outcomes = await Promise.allSettled([
          store.readStream(stream),
          store.readStream(stream, { fromRevision: -1n }),
          store.readStream(stream, { maxCount: -1 }),
          store.readStream(stream, { maxCount: 1.5 }),
          store.readStream(stream),
        ]);

        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(RangeError);
          else expect(outcome.value.map((e) => e.type)).toEqual(['Kept']);
        }
      });

      it('appends at an exact revision and returns the new last revision', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });

        const second = await store.appendToStream(stream, [event('B'), event('C')], { expectedRevision: 0n });
        const third = await store.appendToStream(stream, [event('D')], { expectedRevision: 2n });

        expect(second.nextRevision).toBe(2n);
        expect(third.nextRevision).toBe(3n);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
      });

      it('appends with any to a missing and to an existing stream', async () => {
        const stream = newStream();
        expect((await store.appendToStream(stream, [event('A')], { expectedRevision: 'any' })).nextRevision).toBe(0n);
        expect((await store.appendToStream(stream, [event('B')], { expectedRevision: 'any' })).nextRevision).toBe(1n);
      });

      it('appends with stream_exists to an existing stream', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
        expect((await store.appendToStream(stream, [event('B')], { expectedRevision: 'stream_exists' })).nextRevision).toBe(1n);
      });

      it('appends 1,000 events in one call and reads them all back in order', async () => {
        const stream = newStream();
        const events = Array.from({ length: 1_000 }, (_, n) => event('Bulk', { n }));

        const result = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });
        const read = await store.readStream(stream);

        expect(result.nextRevision).toBe(999n);
        expect(read).toHaveLength(1_000);
        expect(read.map((e) => e.data.n)).toEqual(events.map((_, n) => n));
        expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
        for (let n = 1; n < read.length; n += 1) expect(read[n - 1].position < read[n].position).toBe(true);
      });
    });

    describe('expected revision conflicts', () => {
      it('rejects no_stream when the stream exists, reporting its revision, and writes nothing', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A'), event('B')], { expectedRevision: 'no_stream' });

        await expectWrongRevision(store.appendToStream(stream, [event('C')], { expectedRevision: 'no_stream' }), 1n);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('rejects stream_exists when the stream is missing, and creates nothing', async () => {
        const stream = newStream();
        await expectWrongRevision(store.appendToStream(stream, [event('A')], { expectedRevision: 'stream_exists' }), null);
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('rejects an exact revision that is behind, ahead, or on a missing stream', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });

        await expectWrongRevision(store.appendToStream(stream, [event('X')], { expectedRevision: 1n }), 2n);
        await expectWrongRevision(store.appendToStream(stream, [event('X')], { expectedRevision: 5n }), 2n);
        await expectWrongRevision(store.appendToStream(newStream(), [event('X')], { expectedRevision: 0n }), null);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('lets exactly one of several concurrent appends at the same revision win', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });

        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, n) => store.appendToStream(stream, [event('Racer', { n })], { expectedRevision: 0n })),
        );

        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('lets every one of several concurrent appends with any land, each at its own revision', async () => {
        const stream = newStream();

        const results = await Promise.all(
          Array.from({ length: 8 }, (_, n) => store.appendToStream(stream, [event('Any', { n })], { expectedRevision: 'any' })),
        );

        expect(results.map((r) => r.nextRevision).sort((a, b) => (a < b ? -1 : 1))).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
        expect((await store.readStream(stream)).map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      });
    });

    describe('revisions and positions no store holds', () => {
      // Both stores hold revisions and positions as signed 64-bit numbers (a PostgreSQL bigint;
      // EventStoreDB's revisions and log positions). One outside 0 to 2^63 − 1 is a caller's
      // mistake, refused before the store sees it: PostgreSQL failed it with an SQL error, or
      // read a negative position as the start, and EventStoreDB's client writes revisions and
      // positions into unsigned 64-bit fields unchecked (2^64 went out as 0).
      const outside = [-1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n];

      it('refuses an exact expected revision outside 0 to 2^63 − 1 with a RangeError naming it, and appends nothing', async () => {
        const category = newCategory();
        const start = await startPosition();
        const stream = newStream(category);
        await store.appendToStream(stream, [event('Opened')], { expectedRevision: 'no_stream' });
        const others = outside.map(() => newStream(category));

        const outcomes = await Promise.allSettled([
          ...outside.map((expectedRevision) => store.appendToStream(stream, [event('Refused')], { expectedRevision })),
          ...outside.map((expectedRevision) => store.appendToStream(newStream(category), [event('Refused')], { expectedRevision })),
          ...others.map((other) => store.appendToStream(other, [event('Landed')], { expectedRevision: 'no_stream' })),
        ]);

        const refusals = outcomes.slice(0, 2 * outside.length);
        expect(refusals.map((outcome) => outcome.status)).toEqual(refusals.map(() => 'rejected'));
        for (const refusal of refusals as PromiseRejectedResult[]) {
          expect(refusal.reason).toBeInstanceOf(RangeError);
          expect((refusal.reason as Error).message).toMatch(/^expectedRevision must be .* from 0 to 9223372036854775807, got -?\d+$/);
        }
        expect(outcomes.slice(2 * outside.length).map((outcome) => outcome.status)).toEqual(others.map(() => 'fulfilled'));
        expect((await readCategory(category, start)).map((e) => e.type)).toEqual(['Opened', 'Landed', 'Landed', 'Landed', 'Landed']);
      });

      it('takes the largest revision, 2^63 − 1, as any other that the stream is not at', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });

        await expectWrongRevision(store.appendToStream(stream, [event('X')], { expectedRevision: 2n ** 63n - 1n }), 0n);
        await expectWrongRevision(store.appendToStream(newStream(), [event('X')], { expectedRevision: 2n ** 63n - 1n }), null);
      });

      it('refuses a fromPosition outside 0 to 2^63 − 1 of readAll and subscribeToAll with a RangeError naming it', async () => {
        for (const fromPosition of outside) {
          await expect(store.readAll({ fromPosition, maxCount: 10 })).rejects.toThrow(RangeError);
          await expect(store.readAll({ fromPosition, maxCount: 10 })).rejects.toThrow(/^fromPosition must be null or a position from 0 to 9223372036854775807, got -?\d+$/);
          let subscription: EventSubscription | undefined;
          try {
            expect(() => {
              subscription = store.subscribeToAll({ fromPosition });
            }).toThrow(/^fromPosition must be null or a position from 0 to 9223372036854775807, got -?\d+$/);
            expect(() => store.subscribeToAll({ fromPosition })).toThrow(RangeError);
          } finally {
            await subscription?.close();
          }
        }
      });

      it('reads from position 0 as from the start', async () => {
        const category = newCategory();
        await store.appendToStream(newStream(category), [event('First')], { expectedRevision: 'no_stream' });

        expect((await readCategory(category, 0n)).map((e) => e.type)).toEqual(['First']);
      });
    });

    describe('events that cannot be encoded as JSON', () => {
      // A bigint (money is bigint in the domain) that reached an event unconverted: JSON.stringify
      // throws on it. The append is a programmer error and must fail at once, not hang.
      const amount = 123456789012345678901234567890n;

      it('rejects a bigint in data at once, naming the event type and stream but not the data, and appends nothing', async () => {
        const category = newCategory();
        const stream = newStream(category);
        const start = await startPosition();
        await store.appendToStream(stream, [event('Opened')], { expectedRevision: 'no_stream' });

        const error = await store
          .appendToStream(stream, [event('Fine'), event('AmountCredited', { amount })], { expectedRevision: 0n })
          .then(
            () => new Error('the append was expected to fail'),
            (rejection: unknown) => rejection,
          );

        expect(error).toBeInstanceOf(Error);
        expect(error).not.toBeInstanceOf(WrongExpectedRevisionError);
        const message = (error as Error).message;
        expect(message).toContain('AmountCredited');
        expect(message).toContain(stream);
        expect(message).not.toContain(amount.toString());
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['Opened']);
        expect((await readCategory(category, start)).map((e) => e.type)).toEqual(['Opened']);
        const next = await store.appendToStream(stream, [event('AmountCredited', { amountRaw: amount.toString() })], { expectedRevision: 0n });
        expect(next.nextRevision).toBe(1n);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['Opened', 'AmountCredited']);
      }, 10_000);

      it('rejects a bigint in metadata, and appends made at the same time to other streams still land', async () => {
        const category = newCategory();
        const streams = Array.from({ length: 6 }, () => newStream(category));
        const bad: NewEvent = { ...event('AmountCredited'), metadata: metadata({ amount }) };

        const outcomes = await Promise.allSettled(
          streams.map((stream, n) => store.appendToStream(stream, [n === 2 ? bad : event('Fine', { n })], { expectedRevision: 'no_stream' })),
        );

        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
        expect(String((outcomes[2] as PromiseRejectedResult).reason)).toContain(streams[2]);
        expect(await store.readStream(streams[2])).toEqual([]);
        for (const [n, stream] of streams.entries()) {
          if (n !== 2) expect((await store.readStream(stream)).map((e) => e.data.n)).toEqual([n]);
        }
      }, 10_000);
    });

    describe('idempotent re-append', () => {
      it('writes nothing when the same events are appended again at the same expected revision', async () => {
        const category = newCategory();
        const stream = newStream(category);
        const start = await startPosition();
        const events = [event('A'), event('B')];
        const first = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });

        const again = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });

        expect(again.nextRevision).toBe(first.nextRevision);
        expect(again.position).toBe(first.position);
        expect(await store.readStream(stream)).toHaveLength(2);
        expect(await readCategory(category, start)).toHaveLength(2);
      });

      it('writes nothing when the same events are appended again at an exact revision', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
        const events = [event('B'), event('C')];
        const first = await store.appendToStream(stream, events, { expectedRevision: 0n });

        const again = await store.appendToStream(stream, events, { expectedRevision: 0n });

        expect(again.nextRevision).toBe(first.nextRevision);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      // A retry after a lost answer can come after other writers have moved the stream on. It is
      // answered with the original append's result, as EventStoreDB answers it (its idempotent
      // write reports the batch's own last event number), not with the stream's current end.
      it.each([
        ['no_stream', 'no_stream'],
        ['an exact revision', 0n],
        ['any', 'any'],
      ] as const)('answers a repeat at %s with the original append\'s revision and position after the stream moved on', async (_name, expected) => {
        const stream = newStream();
        if (typeof expected === 'bigint') await store.appendToStream(stream, [event('Before')], { expectedRevision: 'no_stream' });
        const a = [event('A1'), event('A2')];
        const first = await store.appendToStream(stream, a, { expectedRevision: expected });
        await store.appendToStream(stream, [event('B')], { expectedRevision: first.nextRevision });

        const again = await store.appendToStream(stream, a, { expectedRevision: expected });

        const stored = await store.readStream(stream);
        const lastOfA = stored.find((e) => e.id === a[1].id);
        expect(stored.map((e) => e.type)).toEqual([...(typeof expected === 'bigint' ? ['Before'] : []), 'A1', 'A2', 'B']);
        expect(again).toEqual({ nextRevision: lastOfA?.revision, position: lastOfA?.position });
        expect(again).toEqual(first);
      });

      it('writes nothing when the same event is appended again with any', async () => {
        const stream = newStream();
        const once = event('A');
        await store.appendToStream(stream, [once], { expectedRevision: 'any' });

        await store.appendToStream(stream, [once], { expectedRevision: 'any' });

        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    describe('reading $all', () => {
      it('returns events of several streams in append order, strictly increasing, from an exclusive position', async () => {
        const category = newCategory();
        const start = await startPosition();
        const a = newStream(category);
        const b = newStream(category);
        const appended: string[] = [];
        for (const [stream, type] of [[a, 'A1'], [b, 'B1'], [a, 'A2'], [b, 'B2'], [a, 'A3']] as const) {
          const e = event(type);
          appended.push(e.id);
          await store.appendToStream(stream, [e], { expectedRevision: 'any' });
        }

        const all = await readCategory(category, start);
        const afterSecond = await readCategory(category, all[1].position);

        expect(all.map((e) => e.id)).toEqual(appended);
        expect(all.map((e) => e.type)).toEqual(['A1', 'B1', 'A2', 'B2', 'A3']);
        for (let n = 1; n < all.length; n += 1) expect(all[n - 1].position < all[n].position).toBe(true);
        expect(afterSecond.map((e) => e.type)).toEqual(['A2', 'B2', 'A3']);
        expect(await readCategory(category, all[4].position)).toEqual([]);
      });

      it('gives each event the same position in $all as in its stream, and the append result the last one', async () => {
        const category = newCategory();
        const start = await startPosition();
        const stream = newStream(category);
        const result = await store.appendToStream(stream, [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });

        const fromAll = await readCategory(category, start);
        const fromStream = await store.readStream(stream);

        expect(fromAll.map((e) => e.position)).toEqual(fromStream.map((e) => e.position));
        expect(fromAll[2].position).toBe(result.position);
        expect(fromAll.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
      });

      it('stops at maxCount and continues from the last position read', async () => {
        const category = newCategory();
        const start = await startPosition();
        await store.appendToStream(newStream(category), Array.from({ length: 25 }, (_, n) => event('Paged', { n })), {
          expectedRevision: 'no_stream',
        });

        const pages: number[][] = [];
        let from = start;
        for (;;) {
          const page = await readCategory(category, from, 10);
          if (page.length === 0) break;
          pages.push(page.map((e) => e.data.n as number));
          from = page[page.length - 1].position;
        }

        expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
        expect(pages.flat()).toEqual(Array.from({ length: 25 }, (_, n) => n));
      });

      it('filters by category', async () => {
        const wanted = newCategory();
        const other = newCategory();
        const start = await startPosition();
        await store.appendToStream(newStream(wanted), [event('W1')], { expectedRevision: 'no_stream' });
        await store.appendToStream(newStream(other), [event('O1')], { expectedRevision: 'no_stream' });
        await store.appendToStream(newStream(wanted), [event('W2')], { expectedRevision: 'no_stream' });

        const read = await store.readAll({ fromPosition: start, maxCount: 100, filter: { kind: 'category', categories: [wanted] } });
        const both = await store.readAll({ fromPosition: start, maxCount: 100, filter: { kind: 'category', categories: [wanted, other] } });

        expect(read.map((e) => e.type)).toEqual(['W1', 'W2']);
        expect(both.map((e) => e.type)).toEqual(['W1', 'O1', 'W2']);
      });

      it('filters by exact event type', async () => {
        const category = newCategory();
        const start = await startPosition();
        const typeA = `${category}Alpha`;
        const typeB = `${category}Beta`;
        await store.appendToStream(newStream(category), [event(typeA), event(typeB), event(`${typeA}Extended`), event(typeA)], {
          expectedRevision: 'no_stream',
        });

        const read = await store.readAll({ fromPosition: start, maxCount: 100, filter: { kind: 'eventType', eventTypes: [typeA] } });

        expect(read.map((e) => e.type)).toEqual([typeA, typeA]);
        expect(read.map((e) => e.revision)).toEqual([0n, 3n]);
      });

      it('reports a head position at or after the last append', async () => {
        const result = await store.appendToStream(newStream(), [event('Head')], { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        expect(head).not.toBeNull();
        expect((head as bigint) >= result.position).toBe(true);
      });

      it('shows each append to the next headPosition and readAll at once, every time', async () => {
        // Read-your-writes, asked again and again: a store reading from a replica behind the
        // writer, or a head cached for a moment, would miss one of these.
        const category = newCategory();
        for (let round = 0; round < 10; round += 1) {
          const before = await startPosition();
          const result = await store.appendToStream(newStream(category), [event('Mine', { round })], { expectedRevision: 'no_stream' });
          const head = await store.headPosition();
          const last = await store.lastPosition();
          const read = await readCategory(category, before);
          expect([head !== null && head >= result.position, last !== null && last >= result.position, read.map((e) => e.data.round)]).toEqual([
            true,
            true,
            [round],
          ]);
        }
      });

      it('refuses a maxCount that is not a positive whole number', async () => {
        for (const maxCount of [0, -1, 1.5, Number.NaN]) {
          await expect(store.readAll({ fromPosition: null, maxCount })).rejects.toThrow(/maxCount/);
        }
      });
    });

    describe('subscriptions to $all', () => {
      async function take(iterator: AsyncIterator<RecordedEvent>, count: number, timeoutMs = 15_000): Promise<RecordedEvent[]> {
        const taken: RecordedEvent[] = [];
        const deadline = Date.now() + timeoutMs;
        while (taken.length < count) {
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw new Error(`only ${taken.length} of ${count} events arrived within ${timeoutMs} ms`);
          let timer: NodeJS.Timeout | undefined;
          const next = await Promise.race([
            iterator.next(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`only ${taken.length} of ${count} events arrived within ${timeoutMs} ms`)), remaining);
            }),
          ]).finally(() => clearTimeout(timer));
          if (next.done === true) throw new Error('the subscription ended');
          taken.push(next.value);
        }
        return taken;
      }

      it('delivers stored events, then live ones, in position order, filtered by category', async () => {
        const category = newCategory();
        const start = await startPosition();
        const stream = newStream(category);
        await store.appendToStream(stream, [event('Before1'), event('Before2')], { expectedRevision: 'no_stream' });
        const subscription = store.subscribeToAll({ fromPosition: start, filter: { kind: 'category', categories: [category] } });
        const iterator = subscription[Symbol.asyncIterator]();
        try {
          const stored = await take(iterator, 2);
          await store.appendToStream(newStream(), [event('Elsewhere')], { expectedRevision: 'no_stream' });
          await store.appendToStream(stream, [event('Live1')], { expectedRevision: 1n });
          await store.appendToStream(newStream(category), [event('Live2')], { expectedRevision: 'no_stream' });
          const live = await take(iterator, 2);

          expect([...stored, ...live].map((e) => e.type)).toEqual(['Before1', 'Before2', 'Live1', 'Live2']);
          const positions = [...stored, ...live].map((e) => e.position);
          for (let n = 1; n < positions.length; n += 1) expect(positions[n - 1] < positions[n]).toBe(true);
        } finally {
          await subscription.close();
        }
      });

      it('resumes after a stored position without repeating or skipping an event', async () => {
        const category = newCategory();
        const start = await startPosition();
        await store.appendToStream(newStream(category), [1, 2, 3, 4].map((n) => event('Resume', { n })), { expectedRevision: 'no_stream' });
        const first = store.subscribeToAll({ fromPosition: start, filter: { kind: 'category', categories: [category] } });
        const firstTwo = await take(first[Symbol.asyncIterator](), 2);
        await first.close();

        const resumed = store.subscribeToAll({ fromPosition: firstTwo[1].position, filter: { kind: 'category', categories: [category] } });
        try {
          const rest = await take(resumed[Symbol.asyncIterator](), 2);
          expect([...firstTwo, ...rest].map((e) => e.data.n)).toEqual([1, 2, 3, 4]);
        } finally {
          await resumed.close();
        }
      });

      it('filters live events by event type', async () => {
        const category = newCategory();
        const start = await startPosition();
        const wanted = `${category}Wanted`;
        const subscription = store.subscribeToAll({ fromPosition: start, filter: { kind: 'eventType', eventTypes: [wanted] } });
        const iterator = subscription[Symbol.asyncIterator]();
        try {
          await store.appendToStream(newStream(category), [event(`${category}Other`), event(wanted, { n: 1 }), event(`${wanted}Not`)], {
            expectedRevision: 'no_stream',
          });
          await store.appendToStream(newStream(category), [event(wanted, { n: 2 })], { expectedRevision: 'no_stream' });
          const taken = await take(iterator, 2);
          expect(taken.map((e) => [e.type, e.data.n])).toEqual([
            [wanted, 1],
            [wanted, 2],
          ]);
        } finally {
          await subscription.close();
        }
      });

      it('hands out no system events ($-streams, $-types) from $all read or followed without a filter', async () => {
        // EventStoreDB keeps its own events in $all (statistics, stream metadata, the links its
        // system projections write after each append); no reader of the port may see them.
        const stream = newStream();
        const start = await startPosition();
        await store.appendToStream(stream, [event('Plain1'), event('Plain2')], { expectedRevision: 'no_stream' });
        const mine = (events: RecordedEvent[]): string[] => events.filter((e) => e.streamName === stream).map((e) => e.type);

        const read = await store.readAll({ fromPosition: start, maxCount: 10_000 });
        const followed: RecordedEvent[] = [];
        const subscription = store.subscribeToAll({ fromPosition: start });
        try {
          const iterator = subscription[Symbol.asyncIterator]();
          while (mine(followed).length < 2) followed.push(...(await take(iterator, 1)));
        } finally {
          await subscription.close();
        }

        expect(mine(read)).toEqual(['Plain1', 'Plain2']);
        expect(mine(followed)).toEqual(['Plain1', 'Plain2']);
        const system = [...read, ...followed].filter((e) => e.streamName.startsWith('$') || e.type.startsWith('$'));
        expect(system.map((e) => `${e.streamName} ${e.type}`)).toEqual([]);
      });

      it('answers next() calls made before the previous one settled, each with the next event in turn', async () => {
        const category = newCategory();
        const start = await startPosition();
        const subscription = store.subscribeToAll({ fromPosition: start, filter: { kind: 'category', categories: [category] } });
        const iterator = subscription[Symbol.asyncIterator]();
        try {
          const asked = [iterator.next(), iterator.next(), iterator.next()];
          await store.appendToStream(newStream(category), [1, 2, 3].map((n) => event('Asked', { n })), { expectedRevision: 'no_stream' });

          const answers = await Promise.all(asked);

          expect(answers.map((answer) => [answer.done, answer.value?.data.n])).toEqual([
            [false, 1],
            [false, 2],
            [false, 3],
          ]);
        } finally {
          await subscription.close();
        }
      });

      it('ends the iteration when closed', async () => {
        const subscription = store.subscribeToAll({ fromPosition: await startPosition(), filter: { kind: 'category', categories: [newCategory()] } });
        const iterator = subscription[Symbol.asyncIterator]();
        const pending = iterator.next();
        await subscription.close();
        let timer: NodeJS.Timeout | undefined;
        const result = await Promise.race([
          pending,
          new Promise<'still waiting'>((resolve) => {
            timer = setTimeout(() => resolve('still waiting'), 5_000);
          }),
        ]).finally(() => clearTimeout(timer));
        expect(result).toEqual({ done: true, value: undefined });
      });

      it('ends at close() although stored events it has not handed out remain', async () => {
        const category = newCategory();
        const start = await startPosition();
        await store.appendToStream(newStream(category), [1, 2, 3, 4].map((n) => event('Left', { n })), { expectedRevision: 'no_stream' });
        const subscription = store.subscribeToAll({ fromPosition: start, filter: { kind: 'category', categories: [category] } });
        const iterator = subscription[Symbol.asyncIterator]();
        const [taken] = await take(iterator, 1);

        await subscription.close();

        expect(taken.data.n).toBe(1);
        expect(await iterator.next()).toEqual({ done: true, value: undefined });
      });
    });
  });
}
