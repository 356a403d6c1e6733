import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';

import {
  CancelledError,
  EventStoreDBClient,
  NotLeaderError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type ReadAllOptions as EsdbReadAllOptions,
  type StreamingRead,
} from '@eventstore/db-client';

import {
  EventStoreUnavailableError,
  type NewEvent,
  type RecordedEvent,
} from './event-store.port';
import {
  EventStoreDbEventStore,
  UNKNOWN_POSITION,
  comparePositions,
  escapeRegex,
  isAfterPosition,
  isSystemEvent,
  toActualRevision,
  toEsdbExpectedRevision,
  toEsdbFilter,
  toEventStoreError,
  toReadPosition,
  toRecordedEvent,
  withTimeout,
} from './eventstoredb-event-store';

function newEvent(): NewEvent {
  return {
    id: '6f1c2b1e-7c53-4a53-9d47-2f0f6f3b9c01',
    type: 'KillsCredited',
    data: { kills: 3 },
    metadata: {
      correlationId: 'c-1',
      causationId: null,
      actor: { kind: 'system', name: 'spec' },
      schemaVersion: 1,
    },
  };
}

type StreamRead = ReturnType<EventStoreDBClient['readStream']>;

/** A readStream answer the client can iterate and cancel. */
const asRead = (readable: Readable): StreamRead => Object.assign(readable, { cancel: async () => undefined }) as unknown as StreamRead;

/** Stream `account-1` as the server would read it: revisions 0 to count − 1, at positions 100, 200, … */
const streamOf = (count: number) =>
  Array.from({ length: count }, (_, revision) => ({
    event: {
      streamId: 'account-1',
      id: `e${revision}`,
      isJson: true,
      revision: BigInt(revision),
      type: 'KillsCredited',
      created: new Date(0),
      data: { revision },
      metadata: newEvent().metadata,
      position: { commit: BigInt(100 * (revision + 1)), prepare: BigInt(100 * (revision + 1)) },
    },
  }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return address.port;
}

/** Runs `work`, expects an EventStoreUnavailableError and returns it with the time it took. */
async function expectUnavailable(work: () => Promise<unknown>): Promise<{ error: EventStoreUnavailableError; ms: number }> {
  const startedAt = Date.now();
  let caught: unknown = null;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  const ms = Date.now() - startedAt;
  expect(caught).toBeInstanceOf(EventStoreUnavailableError);
  return { error: caught as EventStoreUnavailableError, ms };
}

async function firstEvent(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent | undefined> {
  for await (const event of iterable) return event;
  return undefined;
}

describe('EventStoreDbEventStore against a closed port', () => {
  let store: EventStoreDbEventStore;

  beforeAll(async () => {
    const port = await freePort();
    // A long timeout proves the quick failures below come from the refused connection, not the timer.
    store = new EventStoreDbEventStore(`esdb://127.0.0.1:${port}?tls=false`, { operationTimeoutMs: 10_000 });
  });

  afterAll(async () => {
    await store.close();
  });

  const calls: Array<[string, () => Promise<unknown>]> = [
    ['appendToStream', () => store.appendToStream('account-1', [newEvent()], { expectedRevision: 'no_stream' })],
    ['readStream', () => store.readStream('account-1')],
    ['readAll', () => store.readAll({ fromPosition: null, maxCount: 10 })],
    ['headPosition', () => store.headPosition()],
    ['subscribeToAll', () => firstEvent(store.subscribeToAll({ fromPosition: 5n }))],
  ];

  it.each(calls)('%s rejects with EventStoreUnavailableError quickly', async (_name, call) => {
    const { error, ms } = await expectUnavailable(call);
    expect(ms).toBeLessThan(5_000);
    expect(error.message).toMatch(/^event store unavailable: /);
    expect(error.cause).toBeDefined();
  }, 10_000);
});

describe('EventStoreDbEventStore against a server that never answers', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      // Hold the connection open and say nothing, like a hung server.
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    port = address.port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const calls: Array<[string, (store: EventStoreDbEventStore) => Promise<unknown>]> = [
    ['appendToStream', (store) => store.appendToStream('account-1', [newEvent()], { expectedRevision: 'any' })],
    ['readStream', (store) => store.readStream('account-1')],
    ['readAll', (store) => store.readAll({ fromPosition: 10n, maxCount: 10 })],
    ['headPosition', (store) => store.headPosition()],
    ['subscribeToAll', (store) => firstEvent(store.subscribeToAll())],
  ];

  it.each(calls)('%s rejects with EventStoreUnavailableError after operationTimeoutMs', async (_name, call) => {
    const store = new EventStoreDbEventStore(`esdb://127.0.0.1:${port}?tls=false`, { operationTimeoutMs: 500 });
    try {
      const { error, ms } = await expectUnavailable(() => call(store));
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(2_000);
      expect(error.message).toMatch(/event store (did not answer within 500ms|unavailable)/);
    } finally {
      await store.close();
    }
  }, 10_000);

  it('a subscription closed while waiting ends the iteration instead of failing', async () => {
    const store = new EventStoreDbEventStore(`esdb://127.0.0.1:${port}?tls=false`, { operationTimeoutMs: 5_000 });
    try {
      const subscription = store.subscribeToAll();
      const iterator = subscription[Symbol.asyncIterator]();
      const next = iterator.next();
      await subscription.close();
      await expect(next).resolves.toEqual({ done: true, value: undefined });
    } finally {
      await store.close();
    }
  });
});

describe('mapping helpers', () => {
  it('maps expected revisions onto the client constants', () => {
    expect(toEsdbExpectedRevision('no_stream')).toBe('no_stream');
    expect(toEsdbExpectedRevision('stream_exists')).toBe('stream_exists');
    expect(toEsdbExpectedRevision('any')).toBe('any');
    expect(toEsdbExpectedRevision(0n)).toBe(0n);
    expect(toEsdbExpectedRevision(41n)).toBe(41n);
    expect(toEsdbExpectedRevision(2n ** 63n - 1n)).toBe(2n ** 63n - 1n);
    expect(() => toEsdbExpectedRevision(-1n)).toThrow(RangeError);
    expect(() => toEsdbExpectedRevision(2n ** 63n)).toThrow(RangeError);
  });

  it('maps the actual revision of a wrong-expected-version error', () => {
    expect(toActualRevision(7n)).toBe(7n);
    expect(toActualRevision(0n)).toBe(0n);
    expect(toActualRevision('no_stream')).toBeNull();
    expect(toActualRevision(-1n)).toBeNull();
    expect(toActualRevision(undefined)).toBeNull();
  });

  it('builds exact server-side filters', () => {
    expect(toEsdbFilter(undefined)).toMatchObject({ filterOn: 'eventType', regex: '^[^$].*' });

    const category = toEsdbFilter({ kind: 'category', categories: ['account', 'pay.out'] });
    expect(category).toMatchObject({ filterOn: 'streamName', regex: '^(?:account|pay\\.out)(?:-|$)' });
    const categoryRegex = new RegExp((category as { regex: string }).regex);
    expect(categoryRegex.test('account-1')).toBe(true);
    expect(categoryRegex.test('account')).toBe(true);
    expect(categoryRegex.test('account-1-2')).toBe(true);
    expect(categoryRegex.test('accounts-1')).toBe(false);
    expect(categoryRegex.test('payXout-1')).toBe(false);
    expect(categoryRegex.test('$ce-account')).toBe(false);

    const types = toEsdbFilter({ kind: 'eventType', eventTypes: ['KillsCredited', 'Paid'] });
    expect(types).toMatchObject({ filterOn: 'eventType', regex: '^(?:KillsCredited|Paid)$' });
    const typeRegex = new RegExp((types as { regex: string }).regex);
    expect(typeRegex.test('Paid')).toBe(true);
    expect(typeRegex.test('PaidOut')).toBe(false);
    expect(typeRegex.test('XPaid')).toBe(false);

    // An empty list matches nothing; the client-side filter takes care of that.
    expect(toEsdbFilter({ kind: 'eventType', eventTypes: [] })).toMatchObject({ regex: '^[^$].*' });
  });

  it('escapes regex metacharacters', () => {
    expect(escapeRegex('a.b*c(d)|e[f]^$\\')).toBe('a\\.b\\*c\\(d\\)\\|e\\[f\\]\\^\\$\\\\');
  });

  it('treats the port position as exclusive', () => {
    expect(toReadPosition(null)).toBe('start');
    expect(toReadPosition(undefined)).toBe('start');
    expect(toReadPosition(1234n)).toEqual({ commit: 1234n, prepare: 1234n });
    expect(toReadPosition(2n ** 63n - 1n)).toEqual({ commit: 2n ** 63n - 1n, prepare: 2n ** 63n - 1n });
    expect(() => toReadPosition(-1n)).toThrow(RangeError);
    expect(() => toReadPosition(2n ** 64n)).toThrow(RangeError);
    expect(isAfterPosition(1234n, 1234n)).toBe(false);
    expect(isAfterPosition(1233n, 1234n)).toBe(false);
    expect(isAfterPosition(1235n, 1234n)).toBe(true);
    expect(isAfterPosition(0n, null)).toBe(true);
    expect(isAfterPosition(0n, undefined)).toBe(true);
  });

  it('orders full positions by commit, then prepare', () => {
    expect(comparePositions({ commit: 1n, prepare: 1n }, { commit: 2n, prepare: 0n })).toBe(-1);
    expect(comparePositions({ commit: 2n, prepare: 1n }, { commit: 2n, prepare: 0n })).toBe(1);
    expect(comparePositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 2n })).toBe(0);
  });

  it('recognises system events by stream or type', () => {
    expect(isSystemEvent({ streamName: '$stats-127.0.0.1:2113', type: '$statsCollected' })).toBe(true);
    expect(isSystemEvent({ streamName: '$$account-1', type: '$metadata' })).toBe(true);
    expect(isSystemEvent({ streamName: 'account-1', type: '$>' })).toBe(true);
    expect(isSystemEvent({ streamName: 'account-1', type: 'KillsCredited' })).toBe(false);
  });

  it('maps a resolved event onto the port shape', () => {
    const created = new Date('2024-01-02T03:04:05.000Z');
    const metadata = newEvent().metadata;
    const mapped = toRecordedEvent({
      event: {
        streamId: 'account-1',
        id: 'e1',
        isJson: true,
        revision: 4n,
        type: 'KillsCredited',
        created,
        data: { kills: 3 },
        metadata,
        position: { commit: 900n, prepare: 900n },
      },
      commitPosition: 900n,
    });
    expect(mapped).toEqual({
      id: 'e1',
      type: 'KillsCredited',
      streamName: 'account-1',
      revision: 4n,
      position: 900n,
      data: { kills: 3 },
      metadata,
      createdAt: created,
    });

    // Unresolved links carry no event and are skipped.
    expect(toRecordedEvent({ commitPosition: 5n })).toBeNull();

    // Servers before 22.6 send no real position on stream reads.
    const withoutPosition = toRecordedEvent({
      event: {
        streamId: 'account-1',
        id: 'e2',
        isJson: true,
        revision: 0n,
        type: 'KillsCredited',
        created,
        data: { kills: 1 },
        metadata,
        position: { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n },
      },
    });
    expect(withoutPosition?.position).toBe(UNKNOWN_POSITION);
  });

  it('maps unavailability to EventStoreUnavailableError and leaves other errors alone', () => {
    const grpcUnavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    const mapped = toEventStoreError(grpcUnavailable);
    expect(mapped).toBeInstanceOf(EventStoreUnavailableError);
    expect((mapped as Error).message).toBe('event store unavailable: 14 UNAVAILABLE: No connection established');
    expect((mapped as Error).cause).toBe(grpcUnavailable);

    const clientUnavailable = new UnavailableError(undefined, 'gone');
    expect(toEventStoreError(clientUnavailable)).toBeInstanceOf(EventStoreUnavailableError);

    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(toEventStoreError(refused)).toBeInstanceOf(EventStoreUnavailableError);

    // A follower refusing a call that needs the leader: the client reconnects to the leader named
    // in the error, so the caller's next try goes there (a 503 with Retry-After, not a 500).
    const notLeader = new NotLeaderError({
      message: '5 NOT_FOUND: Leader info available',
      metadata: { getMap: () => ({ 'leader-endpoint-host': 'esdb-2', 'leader-endpoint-port': '2113' }) },
    } as unknown as ConstructorParameters<typeof NotLeaderError>[0]);
    const mappedNotLeader = toEventStoreError(notLeader);
    expect(mappedNotLeader).toBeInstanceOf(EventStoreUnavailableError);
    expect((mappedNotLeader as Error).message).toBe('event store unavailable: not the leader; the client reconnects to esdb-2:2113');
    expect((mappedNotLeader as Error).cause).toBe(notLeader);

    // gRPC ABORTED (the server's own timeouts) and a status the client does not recognise (a node
    // not ready during an election; an append cancelled by dispose): the outcome is unknown.
    const aborted = new TimeoutError(undefined, '10 ABORTED: Operation timed out');
    expect(toEventStoreError(aborted)).toMatchObject({ message: 'event store unavailable: 10 ABORTED: Operation timed out', cause: aborted });
    expect(toEventStoreError(aborted)).toBeInstanceOf(EventStoreUnavailableError);
    const notReady = new UnknownError(undefined, 'Could not recognize Server Is Not Ready');
    expect(toEventStoreError(notReady)).toBeInstanceOf(EventStoreUnavailableError);
    // A call the server side cancelled (a node shutting down resets its streams; our own cancels
    // never surface): an append's outcome is unknown and a subscription is dropped, as above.
    const rstStream = Object.assign(new Error('1 CANCELLED: Received RST_STREAM with code 8'), { code: 1 });
    const serverCancelled = new CancelledError(rstStream as unknown as ConstructorParameters<typeof CancelledError>[0]);
    expect(toEventStoreError(serverCancelled)).toMatchObject({
      message: 'event store unavailable: 1 CANCELLED: Received RST_STREAM with code 8',
      cause: serverCancelled,
    });
    expect(toEventStoreError(serverCancelled)).toBeInstanceOf(EventStoreUnavailableError);

    const alreadyMapped = new EventStoreUnavailableError('event store unavailable: x');
    expect(toEventStoreError(alreadyMapped)).toBe(alreadyMapped);

    const wrongVersion = new WrongExpectedVersionError(undefined, {
      streamName: 'account-1',
      expected: 1n,
      current: 2n,
    });
    expect(toEventStoreError(wrongVersion)).toBe(wrongVersion);
    const bug = new TypeError('boom');
    expect(toEventStoreError(bug)).toBe(bug);
    const invalidArgument = Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 });
    expect(toEventStoreError(invalidArgument)).toBe(invalidArgument);
  });

  it('withTimeout rejects after the limit and clears its timer when the work wins', async () => {
    await expect(withTimeout(new Promise(() => undefined), 50)).rejects.toThrow(
      new EventStoreUnavailableError('event store did not answer within 50ms'),
    );
    let cancelled = false;
    await expect(
      withTimeout(new Promise(() => undefined), 20, () => {
        cancelled = true;
      }),
    ).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(cancelled).toBe(true);

    jest.useFakeTimers();
    try {
      await expect(withTimeout(Promise.resolve('done'), 1_000)).resolves.toBe('done');
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reads past the largest revision the server takes as nothing, without asking it, and asks the leader for what it reads', async () => {
    const requests: EsdbReadStreamOptions[] = [];
    const read = jest.spyOn(EventStoreDBClient.prototype, 'readStream').mockImplementation((_stream, options) => {
      requests.push(options ?? {});
      return asRead(Readable.from([]));
    });
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      expect(await store.readStream('account-1', { fromRevision: 2n ** 63n })).toEqual([]);
      expect(await store.readStream('account-1', { fromRevision: 2n ** 64n })).toEqual([]);
      expect(read).not.toHaveBeenCalled();
      expect(await store.readStream('account-1', { fromRevision: 2n ** 63n - 1n })).toEqual([]);
      // A follower may lag: a read that must see the caller's own appends goes to the leader.
      expect(requests).toEqual([expect.objectContaining({ fromRevision: 2n ** 63n - 1n, requiresLeader: true })]);
    } finally {
      read.mockRestore();
      await store.close();
    }
  });

  it('lets an append accepted before close() finish before the client is disposed, and refuses one after', async () => {
    const order: string[] = [];
    const append = jest.spyOn(EventStoreDBClient.prototype, 'appendToStream').mockImplementation(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      order.push('appended');
      return { success: true, nextExpectedRevision: 0n, position: { commit: 100n, prepare: 100n } };
    });
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    // dispose is an arrow property of each client, not on the prototype.
    const { client } = store as unknown as { client: EventStoreDBClient };
    const dispose = jest.spyOn(client, 'dispose');
    dispose.mockImplementation(async () => {
      order.push('disposed');
    });
    try {
      const pending = store.appendToStream('account-1', [newEvent()], { expectedRevision: 'no_stream' });
      const closing = store.close();
      await expect(store.appendToStream('account-2', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toThrow('closed');
      await expect(store.readStream('account-1')).rejects.toThrow('closed');
      expect(await pending).toEqual({ nextRevision: 0n, position: 100n });
      await closing;
      expect(order).toEqual(['appended', 'disposed']);
      expect(append).toHaveBeenCalledTimes(1);
    } finally {
      append.mockRestore();
      dispose.mockRestore();
    }
  });

  it('answers an idempotent write reported without a position with its own last event, not the stream\'s end', async () => {
    // The server answers a repeated append with the original batch's last event number (here 1,
    // while the stream has moved on to 2); older servers send no position with it.
    const append = jest.spyOn(EventStoreDBClient.prototype, 'appendToStream').mockResolvedValue({ success: true, nextExpectedRevision: 1n });
    const stream = streamOf(3);
    const read = jest.spyOn(EventStoreDBClient.prototype, 'readStream').mockImplementation((_name, options) => {
      const from = options?.fromRevision;
      const events = stream.filter((resolved) => typeof from !== 'bigint' || resolved.event.revision >= from).slice(0, Number(options?.maxCount ?? 3));
      return asRead(Readable.from(events));
    });
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      expect(await store.appendToStream('account-1', [newEvent()], { expectedRevision: 'no_stream' })).toEqual({ nextRevision: 1n, position: 200n });
    } finally {
      append.mockRestore();
      read.mockRestore();
      await store.close();
    }
  });

  it('rejects an empty append without calling the server', async () => {
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      await expect(store.appendToStream('account-1', [], { expectedRevision: 'any' })).rejects.toThrow(RangeError);
    } finally {
      await store.close();
    }
  });

  it('refuses a revision or position the server does not hold without asking it, and hands it the largest it does', async () => {
    // The client writes both into unsigned 64-bit fields unchecked: 2^64 went out as 0, and -1 threw
    // a TypeError inside its serializer; the server's revisions and positions are signed 64-bit.
    const append = jest.spyOn(EventStoreDBClient.prototype, 'appendToStream').mockResolvedValue({
      success: true,
      nextExpectedRevision: 0n,
      position: { commit: 100n, prepare: 100n },
    });
    const readAll = jest.spyOn(EventStoreDBClient.prototype, 'readAll').mockImplementation(() => asRead(Readable.from([])) as unknown as StreamingRead<AllStreamResolvedEvent>);
    const subscribe = jest.spyOn(EventStoreDBClient.prototype, 'subscribeToAll');
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      for (const outside of [-1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n]) {
        await expect(store.appendToStream('account-1', [newEvent()], { expectedRevision: outside })).rejects.toThrow(
          new RangeError(`expectedRevision must be no_stream, stream_exists, any or a revision from 0 to 9223372036854775807, got ${outside.toString()}`),
        );
        const positionRefusal = new RangeError(`fromPosition must be null or a position from 0 to 9223372036854775807, got ${outside.toString()}`);
        await expect(store.readAll({ fromPosition: outside, maxCount: 10 })).rejects.toThrow(positionRefusal);
        expect(() => store.subscribeToAll({ fromPosition: outside })).toThrow(positionRefusal);
      }
      expect([append, readAll, subscribe].map((call) => call.mock.calls.length)).toEqual([0, 0, 0]);

      await store.appendToStream('account-1', [newEvent()], { expectedRevision: 2n ** 63n - 1n });
      await store.readAll({ fromPosition: 2n ** 63n - 1n, maxCount: 10 });
      expect(append.mock.calls[0][2]).toMatchObject({ expectedRevision: 2n ** 63n - 1n });
      expect(readAll.mock.calls[0][0]).toMatchObject({ fromPosition: { commit: 2n ** 63n - 1n, prepare: 2n ** 63n - 1n } });
    } finally {
      append.mockRestore();
      readAll.mockRestore();
      subscribe.mockRestore();
      await store.close();
    }
  });

  it('refuses an event JSON cannot hold before the client sees the append, and appends on afterwards', async () => {
    // The client would throw inside its own Promise executor, where no caller hears of it.
    const append = jest.spyOn(EventStoreDBClient.prototype, 'appendToStream').mockResolvedValue({
      success: true,
      nextExpectedRevision: 0n,
      position: { commit: 100n, prepare: 100n },
    });
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      const amount = 123456789012345678901234567890n;
      const bad = { ...newEvent(), type: 'AmountCredited', data: { amount } };
      const refusal = store.appendToStream('account-1', [newEvent(), bad], { expectedRevision: 'no_stream' });
      await expect(refusal).rejects.toThrow('Event AmountCredited for stream account-1 was not appended: its data cannot be encoded as JSON');
      await expect(refusal).rejects.not.toThrow(amount.toString());
      const badMetadata = { ...newEvent(), metadata: { ...newEvent().metadata, amount } };
      await expect(store.appendToStream('account-1', [badMetadata], { expectedRevision: 'no_stream' })).rejects.toThrow(/its metadata cannot/);
      expect(append).not.toHaveBeenCalled();

      expect(await store.appendToStream('account-1', [newEvent()], { expectedRevision: 'no_stream' })).toEqual({ nextRevision: 0n, position: 100n });
      expect(append).toHaveBeenCalledTimes(1);
    } finally {
      append.mockRestore();
      await store.close();
    }
  });
});

describe('readAll and headPosition paging over a simulated $all', () => {
  /** A log with system events interleaved, positions 100, 200, ... like EventStoreDB log offsets. */
  const log: Array<{ stream: string; type: string }> = [
    { stream: '$stats-node', type: '$statsCollected' },
    { stream: 'account-1', type: 'Opened' },
    { stream: 'payout-1', type: 'Paid' },
    { stream: '$$account-1', type: '$metadata' },
    { stream: 'account-1', type: 'Credited' },
    { stream: 'account-2', type: 'Opened' },
    { stream: 'accounts-9', type: 'Opened' },
    { stream: 'account', type: 'Credited' },
    { stream: '$stats-node', type: '$statsCollected' },
    { stream: '$stats-node', type: '$statsCollected' },
    { stream: '$stats-node', type: '$statsCollected' },
  ];
  const resolvedAt = (index: number): AllStreamResolvedEvent => {
    const position = BigInt((index + 1) * 100);
    return {
      commitPosition: position,
      event: {
        streamId: log[index].stream,
        id: `id-${index}`,
        isJson: true,
        revision: 0n,
        type: log[index].type,
        created: new Date(0),
        data: { index },
        metadata: { correlationId: 'c', causationId: null, actor: { kind: 'system', name: 's' }, schemaVersion: 1 },
        position: { commit: position, prepare: position },
      },
    };
  };
  const requests: EsdbReadAllOptions[] = [];

  /** Reads forwards inclusively and backwards exclusively, as the EventStoreDB server does. */
  function fakeReadAll(options: EsdbReadAllOptions = {}): StreamingRead<AllStreamResolvedEvent> {
    requests.push(options);
    const all = log.map((_, index) => resolvedAt(index));
    const from = options.fromPosition ?? 'start';
    const count = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    let selected: AllStreamResolvedEvent[];
    if (options.direction === 'backwards') {
      const before = from === 'end' || from === 'start' ? all : all.filter((e) => (e.commitPosition as bigint) < from.commit);
      selected = before.reverse().slice(0, count);
    } else {
      const after = from === 'start' || from === 'end' ? all : all.filter((e) => (e.commitPosition as bigint) >= from.commit);
      selected = after.slice(0, count);
    }
    return Object.assign(Readable.from(selected), { cancel: async () => undefined }) as unknown as StreamingRead<AllStreamResolvedEvent>;
  }

  let store: EventStoreDbEventStore;

  beforeEach(() => {
    requests.length = 0;
    jest.spyOn(EventStoreDBClient.prototype, 'readAll').mockImplementation(fakeReadAll);
    store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false', { readPageSizeMax: 3 });
  });

  const originalLog = [...log];

  afterEach(async () => {
    await store.close();
    jest.restoreAllMocks();
    log.splice(0, log.length, ...originalLog);
  });

  it('skips system events, pages through $all and honours maxCount', async () => {
    const read = await store.readAll({ fromPosition: null, maxCount: 100 });
    expect(read.map((e) => e.position)).toEqual([200n, 300n, 500n, 600n, 700n, 800n]);
    expect(requests.length).toBeGreaterThan(1);
    expect(requests.every((r) => Number(r.maxCount) <= 3)).toBe(true);
    expect(requests.every((r) => r.requiresLeader === true)).toBe(true);

    const two = await store.readAll({ fromPosition: null, maxCount: 2 });
    expect(two.map((e) => e.position)).toEqual([200n, 300n]);
  });

  it('treats fromPosition as exclusive although the server reads inclusively', async () => {
    const read = await store.readAll({ fromPosition: 300n, maxCount: 2 });
    expect(read.map((e) => e.position)).toEqual([500n, 600n]);
    expect(requests[0].fromPosition).toEqual({ commit: 300n, prepare: 300n });
    expect(await store.readAll({ fromPosition: 800n, maxCount: 10 })).toEqual([]);
  });

  it('applies the category and exact event type filters', async () => {
    const accounts = await store.readAll({ maxCount: 100, filter: { kind: 'category', categories: ['account'] } });
    expect(accounts.map((e) => e.streamName)).toEqual(['account-1', 'account-1', 'account-2', 'account']);
    const opened = await store.readAll({ fromPosition: 200n, maxCount: 1, filter: { kind: 'eventType', eventTypes: ['Opened'] } });
    expect(opened.map((e) => e.position)).toEqual([600n]);
  });

  it('finds the head behind a full page of trailing system events', async () => {
    expect(await store.headPosition()).toBe(800n);
    expect(requests.every((r) => r.requiresLeader === true)).toBe(true);
    expect(requests.map((r) => r.fromPosition)).toEqual(['end', { commit: 900n, prepare: 900n }]);
    expect(requests.every((r) => r.direction === 'backwards')).toBe(true);
  });

  it('reports no head when $all holds only system events', async () => {
    log.splice(0, log.length, ...log.filter((e) => e.stream.startsWith('$')));
    expect(await store.headPosition()).toBeNull();
  });
});

describe('readStream paging over a simulated stream', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads page after page from the revision after the last read, up to maxCount', async () => {
    const stored = streamOf(7);
    const requests: EsdbReadStreamOptions[] = [];
    const read = jest.spyOn(EventStoreDBClient.prototype, 'readStream');
    read.mockImplementation((_name, options = {}) => {
      requests.push(options);
      const from = typeof options.fromRevision === 'bigint' ? options.fromRevision : 0n;
      const after = stored.filter((resolved) => resolved.event.revision >= from);
      return asRead(Readable.from(after.slice(0, Number(options.maxCount))));
    });
    const pageSizeTwo = { readPageSizeMax: 2 };
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false', pageSizeTwo);
    try {
      const whole = await store.readStream('account-1');
      const some = await store.readStream('account-1', { fromRevision: 2n, maxCount: 3 });

      const expected = stored.map((r) => [r.event.revision, r.event.position.commit]);
      expect(whole.map((e) => [e.revision, e.position])).toEqual(expected);
      expect(some.map((e) => e.revision)).toEqual([2n, 3n, 4n]);
      expect(requests.map((r) => [r.fromRevision, r.maxCount])).toEqual([
        [0n, 2], [2n, 2], [4n, 2], [6n, 2],
        [2n, 2], [4n, 1],
      ]);
    } finally {
      await store.close();
    }
  });

  it('reads a stream the server does not find as empty, and fails on anything else', async () => {
    const failWith = (error: Error) =>
      jest.spyOn(EventStoreDBClient.prototype, 'readStream').mockImplementation(() => {
        const read = new Readable({ objectMode: true, read: () => undefined });
        setImmediate(() => read.emit('error', error));
        return asRead(read);
      });
    const store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
    try {
      failWith(new StreamNotFoundError(undefined, 'account-1'));
      expect(await store.readStream('account-1')).toEqual([]);
      jest.restoreAllMocks();
      failWith(new UnavailableError(undefined, 'gone'));
      const refused = store.readStream('account-1');
      await expect(refused).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe('subscriptions over a simulated $all subscription', () => {
  /** The client's subscription as the adapter uses it: an object stream with unsubscribe(). */
  class FakeSubscription extends PassThrough {
    unsubscribed = false;

    constructor() {
      super({ objectMode: true });
    }

    async unsubscribe(): Promise<void> {
      this.unsubscribed = true;
    }
  }

  const resolvedAt = (position: bigint, stream = 'account-1', type = 'Credited'): AllStreamResolvedEvent => ({
    commitPosition: position,
    event: {
      streamId: stream,
      id: `id-${position.toString()}`,
      isJson: true,
      revision: 0n,
      type,
      created: new Date(0),
      data: { position: position.toString() },
      metadata: { correlationId: 'c', causationId: null, actor: { kind: 'system', name: 's' }, schemaVersion: 1 },
      position: { commit: position, prepare: position },
    },
  });

  let fakes: FakeSubscription[];
  let store: EventStoreDbEventStore;

  beforeEach(() => {
    fakes = [];
    jest.spyOn(EventStoreDBClient.prototype, 'subscribeToAll').mockImplementation(() => {
      const fake = new FakeSubscription();
      fakes.push(fake);
      return fake as unknown as AllStreamSubscription;
    });
    store = new EventStoreDbEventStore('esdb://127.0.0.1:1?tls=false');
  });

  afterEach(async () => {
    await store.close();
    jest.restoreAllMocks();
  });

  /** Lets the fake stream emit what was written to it. */
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('ends at close(): the events it had buffered are not handed out afterwards, and the call is cancelled', async () => {
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const first = iterator.next();
    const [fake] = fakes;
    fake.emit('confirmation');
    for (const position of [100n, 200n, 300n]) fake.write(resolvedAt(position));
    expect((await first).value?.position).toBe(100n);
    await settle();

    await subscription.close();

    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(fake.unsubscribed).toBe(true);
    expect(fake.destroyed).toBe(true);
  });

  it('starts after its position, asks the leader for it, and drops system events and what the filter leaves out', async () => {
    const subscription = store.subscribeToAll({ fromPosition: 200n, filter: { kind: 'category', categories: ['account'] } });
    const iterator = subscription[Symbol.asyncIterator]();
    const [fake] = fakes;
    fake.emit('confirmation');
    // A server that started at the position inclusively, a repeat, system events, another category.
    const delivered = [
      resolvedAt(200n),
      resolvedAt(300n),
      resolvedAt(350n, '$stats-node', '$statsCollected'),
      resolvedAt(400n, 'accounts-9'),
      resolvedAt(500n, 'account-2', '$>'),
      resolvedAt(300n),
      resolvedAt(600n, 'account'),
    ];
    for (const resolved of delivered) fake.write(resolved);
    const taken = [await iterator.next(), await iterator.next()];
    await subscription.close();

    expect(taken.map((result) => result.value?.position)).toEqual([300n, 600n]);
    const request = (EventStoreDBClient.prototype.subscribeToAll as jest.Mock).mock.calls[0][0];
    expect(request).toMatchObject({ fromPosition: { commit: 200n, prepare: 200n }, resolveLinkTos: false, requiresLeader: true });
  });

  it('pauses the call while 1,000 events wait, and hands out every event in order once read', async () => {
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const [fake] = fakes;
    fake.emit('confirmation');
    const total = 2_500;
    for (let n = 1; n <= total; n += 1) fake.write(resolvedAt(BigInt(n)));
    await settle();
    expect(fake.isPaused()).toBe(true);

    const positions: bigint[] = [];
    for (let n = 1; n <= total; n += 1) {
      const next = await iterator.next();
      positions.push(next.value?.position as bigint);
      if (n % 100 === 0) await settle();
    }
    await subscription.close();

    expect(positions).toEqual(Array.from({ length: total }, (_, n) => BigInt(n + 1)));
  });

  it('answers next() calls made before the previous one settled in order, as an async generator does', async () => {
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const asked = [iterator.next(), iterator.next(), iterator.next()];
    const [fake] = fakes;
    fake.emit('confirmation');
    fake.write(resolvedAt(100n));
    fake.write(resolvedAt(200n));
    await settle();
    const closing = subscription.close();

    const answers = await Promise.allSettled(asked);
    await closing;

    expect(answers).toEqual([
      { status: 'fulfilled', value: { done: false, value: expect.objectContaining({ position: 100n }) } },
      { status: 'fulfilled', value: { done: false, value: expect.objectContaining({ position: 200n }) } },
      { status: 'fulfilled', value: { done: true, value: undefined } },
    ]);
  });

  it('fails the iteration with EventStoreUnavailableError when the server ends the call, after what it delivered', async () => {
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const [fake] = fakes;
    fake.emit('confirmation');
    fake.write(resolvedAt(100n));
    fake.end();
    await settle();

    expect((await iterator.next()).value?.position).toBe(100n);
    await expect(iterator.next()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(iterator.next()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await subscription.close();
  });
});
