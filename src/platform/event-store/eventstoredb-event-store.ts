import {
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  NotLeaderError,
  START,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendResult as EsdbAppendResult,
  type CurrentRevision,
  type Filter,
  type JSONType,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';

import {
  EventStoreUnavailableError,
  REVISION_MAX,
  WrongExpectedRevisionError,
  assertExpectedRevision,
  assertFromPosition,
  encodeEvent,
  matchesFilter,
  type AppendResult,
  type EventData,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './event-store.port';

/**
 * EventStoreDB adapter of the event store port, built on `@eventstore/db-client` 6.x (gRPC).
 *
 * Positions: the port's single bigint position is the event's commit position in `$all`. For
 * events appended through gRPC (implicit transactions) EventStoreDB gives every event its own log
 * position and reports it as both the commit and the prepare position, so the commit position alone
 * identifies an event and orders `$all`. (Events written by legacy explicit TCP transactions share
 * one commit position; this adapter does not support such data.)
 *
 * Time limits: the client can wait forever on a server that accepts connections but never answers
 * (reads and subscriptions run with an infinite gRPC deadline), so every call is raced against our
 * own timer, which is always cleared afterwards.
 */

export const OPERATION_TIMEOUT_MS_DEFAULT = 10_000;
export const READ_PAGE_SIZE_MAX_DEFAULT = 500;
/** Page size of the backwards scan that looks for the newest non-system event. */
const HEAD_PAGE_SIZE_MAX = 100;
/** How many events a subscription buffers before it pauses the gRPC stream. */
const SUBSCRIPTION_BUFFER_SIZE_MAX = 1_000;
/** gRPC status codes, spelled out so this file does not depend on @grpc/grpc-js directly. */
const GRPC_STATUS_DEADLINE_EXCEEDED = 4;
const GRPC_STATUS_UNAVAILABLE = 14;
/** Node.js socket error codes that mean the server could not be reached. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);
/** The client's error types after which an append may or may not have been written. */
const OUTCOME_UNKNOWN_ERROR_TYPES = new Set<unknown>([
  ErrorType.TIMEOUT,
  ErrorType.UNKNOWN,
  ErrorType.CANCELLED,
]);
/**
 * Servers older than 22.6 report an unknown log position of a stream read as the largest unsigned
 * 64-bit value; such a position must never be handed out as if it were real.
 */
const ESDB_UNKNOWN_POSITION = 2n ** 64n - 1n;
/**
 * Position reported for an event read from a stream when the server did not say where the event is
 * in `$all` (servers older than 22.6). It is negative so it can never be mistaken for a checkpoint.
 */
export const UNKNOWN_POSITION = -1n;

export interface EventStoreDbEventStoreOptions {
  /** Upper bound for every single call to the server (append, one read page, subscription start). */
  readonly operationTimeoutMs?: number;
  /** Largest number of events requested from the server in one read. */
  readonly readPageSizeMax?: number;
}

// ---------------------------------------------------------------------------------------------
// Pure mapping helpers, exported so they can be tested without a server.
// ---------------------------------------------------------------------------------------------

/**
 * Maps the port's expected revision onto the client's; the client uses the same literal names. It
 * writes an exact one into an unsigned 64-bit field without a check (2^64 goes out as 0, -1 throws
 * inside its serializer) and the server's revisions are signed 64-bit, so one outside 0 to
 * REVISION_MAX is refused here (assertExpectedRevision).
 */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  assertExpectedRevision(expected);
  switch (expected) {
    case 'no_stream':
      return 'no_stream';
    case 'stream_exists':
      return 'stream_exists';
    case 'any':
      return 'any';
    default:
      return expected;
  }
}

/**
 * The client reports the actual version of a stream as a bigint, or as `no_stream` (or, from the
 * gRPC error metadata of old servers, as -1) when the stream does not exist. The port wants `null`
 * for "no stream".
 */
export function toActualRevision(actual: CurrentRevision | undefined): bigint | null {
  if (typeof actual !== 'bigint' || actual < 0n) return null;
  return actual;
}

/** Escapes a literal for use inside a regular expression; the escaped set is valid in .NET too. */
export function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Builds the server-side filter for a subscription. The server filter only narrows the traffic;
 * the exact rules of the port are applied again on the client with `matchesFilter`.
 *
 * - category: a stream-name regex `^(?:a|b)(?:-|$)`, because `categoryOf` treats a stream name
 *   without a dash as its own category, which a plain `a-` prefix filter would miss.
 * - eventType: an event-type regex `^(?:a|b)$`, because the client's prefix filter would also let
 *   through types that merely start with a wanted name.
 * - no filter, or an empty list: the client's `excludeSystemEvents()` (event types starting `$`).
 */
export function toEsdbFilter(filter?: EventFilter): Filter {
  if (filter === undefined) return excludeSystemEvents();
  switch (filter.kind) {
    case 'category':
      if (filter.categories.length === 0) return excludeSystemEvents();
      return streamNameFilter({
        regex: `^(?:${filter.categories.map(escapeRegex).join('|')})(?:-|$)`,
      });
    case 'eventType':
      if (filter.eventTypes.length === 0) return excludeSystemEvents();
      return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
    default: {
      const unreachable: never = filter;
      throw new Error(`Unknown filter ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The port's exclusive single-bigint position as the client's `$all` read position. The client
 * writes its commit and prepare parts into unsigned 64-bit fields unchecked and the server's log
 * positions are signed 64-bit, so one outside 0 to POSITION_MAX is refused (assertFromPosition).
 */
export function toReadPosition(position: bigint | null | undefined): ReadPosition {
  assertFromPosition(position);
  if (position === null || position === undefined) return START;
  return { commit: position, prepare: position };
}

/**
 * True when an event at `position` comes strictly after `fromPosition` (the port's positions are
 * exclusive, `null` meaning "from the start"). Reads of `$all` from a position include the event at
 * that position, so their results go through this check.
 */
export function isAfterPosition(position: bigint, fromPosition: bigint | null | undefined): boolean {
  if (fromPosition === null || fromPosition === undefined) return true;
  return position > fromPosition;
}

/** Orders two full `$all` positions: commit first, then prepare. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** System events (`$`-prefixed streams or types: stats, metadata, projections, links) are never ours. */
export function isSystemEvent(event: Pick<RecordedEvent, 'streamName' | 'type'>): boolean {
  return event.streamName.startsWith('$') || event.type.startsWith('$');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isDeadlineExceeded(error: Record<string, unknown>): boolean {
  return error.type === ErrorType.DEADLINE_EXCEEDED || error.code === GRPC_STATUS_DEADLINE_EXCEEDED;
}

function isConnectionFailure(error: Record<string, unknown>): boolean {
  if (error.type === ErrorType.UNAVAILABLE || error.code === GRPC_STATUS_UNAVAILABLE) return true;
  return typeof error.code === 'string' && CONNECTION_ERROR_CODES.has(error.code);
}

/**
 * Turns "the server cannot be reached" failures into `EventStoreUnavailableError` (the original is
 * kept as `cause`), so callers can answer 503 and retry. A gRPC deadline is the server not answering
 * in time, the same condition as our own timer, so it is mapped too, and so is a follower's
 * NotLeaderError (a cluster's leader changed, or the connection reached a follower), after which
 * the client reconnects to the leader by itself. So are the client's TimeoutError (its name for
 * gRPC ABORTED, which the server answers for its own timeouts, a slow subscriber dropped among
 * them) and UnknownError (a status it does not recognise, such as a node not ready yet during an
 * election, and an append cancelled by dispose()), and its CancelledError (a call the server side
 * cancelled, as a node shutting down does; the client never surfaces our own cancels): for an
 * append all three mean "may or may not have been written", which is what the port's unavailable
 * error says. Everything else (wrong expected version, access denied, deleted stream, bugs) is
 * returned unchanged.
 */
export function toEventStoreError(error: unknown): unknown {
  if (error instanceof EventStoreUnavailableError) return error;
  if (error instanceof UnavailableError) {
    return new EventStoreUnavailableError(`event store unavailable: ${describeError(error)}`, { cause: error });
  }
  if (typeof error !== 'object' || error === null) return error;
  const fields = error as Record<string, unknown>;
  if (isConnectionFailure(fields)) {
    return new EventStoreUnavailableError(`event store unavailable: ${describeError(error)}`, { cause: error });
  }
  if (error instanceof NotLeaderError) {
    // The client has already begun reconnecting to the leader the error names, so a retry goes there.
    return new EventStoreUnavailableError(
      `event store unavailable: not the leader; the client reconnects to ${error.leader.address}:${error.leader.port}`,
      { cause: error },
    );
  }
  if (isDeadlineExceeded(fields)) {
    return new EventStoreUnavailableError(`event store unavailable: deadline exceeded: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (OUTCOME_UNKNOWN_ERROR_TYPES.has(fields.type)) {
    return new EventStoreUnavailableError(`event store unavailable: ${describeError(error)}`, { cause: error });
  }
  return error;
}

function isStreamNotFound(error: unknown): boolean {
  if (error instanceof StreamNotFoundError) return true;
  return isRecord(error) && error.type === ErrorType.STREAM_NOT_FOUND;
}

function timeoutError(timeoutMs: number): EventStoreUnavailableError {
  return new EventStoreUnavailableError(`event store did not answer within ${timeoutMs}ms`);
}

/** The `$all` commit position of a read event, or `UNKNOWN_POSITION` when the server did not send one. */
function commitPositionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): bigint {
  const commit = resolved.event?.position?.commit;
  if (commit !== undefined && commit >= 0n && commit < ESDB_UNKNOWN_POSITION) return commit;
  const fallback = resolved.commitPosition;
  if (fallback !== undefined && fallback >= 0n && fallback < ESDB_UNKNOWN_POSITION) return fallback;
  return UNKNOWN_POSITION;
}

/**
 * Event data written by this adapter is always a JSON object. Foreign events may carry binary data
 * or a JSON scalar; those are handed over under `value` rather than silently dropped.
 */
function toEventData(data: unknown): EventData {
  if (isRecord(data)) return data;
  if (data instanceof Uint8Array) {
    const text = Buffer.from(data).toString('utf8');
    try {
      const parsed: unknown = JSON.parse(text);
      return isRecord(parsed) ? parsed : { value: parsed };
    } catch {
      return { value: text };
    }
  }
  return { value: data };
}

/**
 * Metadata written by this adapter always follows `EventMetadata`. Events written by other tools may
 * have none, so they get a recognisable placeholder instead of breaking every reader of `$all`.
 */
function toEventMetadata(metadata: unknown, eventId: string): EventMetadata {
  if (isRecord(metadata)) return metadata as EventMetadata;
  return {
    correlationId: eventId,
    causationId: null,
    actor: { kind: 'system', name: 'unknown' },
    schemaVersion: 0,
  };
}

/** Maps a resolved event onto the port's shape; `null` for unresolved links, which carry no event. */
export function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null {
  const event = resolved.event;
  if (event === undefined) return null;
  return {
    id: event.id,
    type: event.type,
    streamName: event.streamId,
    revision: event.revision,
    position: commitPositionOf(resolved),
    data: toEventData(event.data),
    metadata: toEventMetadata(event.metadata, event.id),
    createdAt: event.created,
  };
}

function toJsonEvent(event: NewEvent) {
  // The port's data and metadata are JSON objects; the casts only drop the `readonly` modifiers.
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as JSONType,
    metadata: event.metadata as JSONType,
  });
}

/**
 * Races `work` against a timer that rejects with `EventStoreUnavailableError`. The timer is cleared
 * however the race ends, so no timer outlives the call. `onTimeout` lets the caller cancel the
 * abandoned work.
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(timeoutError(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a finite client read stream into an array, bounded by our timer. On timeout the gRPC call is
 * cancelled so it does not keep running in the background.
 */
function collect<E>(read: StreamingRead<E>, timeoutMs: number): Promise<E[]> {
  return new Promise<E[]>((resolve, reject) => {
    const items: E[] = [];
    let settled = false;
    const settle = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      read.removeListener('data', onData);
      read.removeListener('end', onEnd);
      // The error listener stays: a stream without one would crash the process on a late error.
      if (error === undefined) resolve(items);
      else reject(error);
    };
    const onData = (item: E): void => {
      items.push(item);
    };
    const onEnd = (): void => settle(undefined);
    const onError = (error: Error): void => settle(error);
    const timer = setTimeout(() => {
      settle(timeoutError(timeoutMs));
      read.cancel().catch(() => undefined);
    }, timeoutMs);
    read.on('data', onData);
    read.once('end', onEnd);
    read.on('error', onError);
  });
}

// ---------------------------------------------------------------------------------------------
// Subscription
// ---------------------------------------------------------------------------------------------

interface PendingNext {
  resolve(result: IteratorResult<RecordedEvent>): void;
  reject(error: unknown): void;
}

/**
 * A catch-up subscription to `$all` adapted to the port's `EventSubscription`. The gRPC stream is
 * opened when iteration starts, so an unused subscription holds no server resources.
 */
class EventStoreDbSubscription implements EventSubscription {
  private stream: AllStreamSubscription | null = null;
  private readonly buffer: RecordedEvent[] = [];
  /**
   * Readers waiting for an event, oldest first: next() may be called again before the previous
   * call settled, and each call gets the next event in turn, as from an async generator.
   */
  private readonly waiting: PendingNext[] = [];
  private failure: unknown = null;
  private closed = false;
  private started = false;
  private startTimer: NodeJS.Timeout | null = null;
  /** Position of the last event handed to the buffer; anything at or before it is a duplicate. */
  private lastPosition: bigint | null;

  constructor(
    private readonly open: () => AllStreamSubscription,
    fromPosition: bigint | null,
    private readonly filter: EventFilter | undefined,
    private readonly timeoutMs: number,
    private readonly onClosed: (subscription: EventStoreDbSubscription) => void,
  ) {
    this.lastPosition = fromPosition;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.started) throw new Error('An event store subscription can only be iterated once');
    this.started = true;
    this.start();
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearStartTimer();
    // The port's subscription ends when closed, as the PostgreSQL one does: events still buffered
    // are dropped, not handed to a reader that asked for the end.
    this.buffer.length = 0;
    for (const reader of this.waiting.splice(0)) reader.resolve({ done: true, value: undefined });
    this.onClosed(this);
    await this.release();
  }

  private start(): void {
    if (this.closed) return;
    let stream: AllStreamSubscription;
    try {
      stream = this.open();
    } catch (error) {
      this.fail(toEventStoreError(error));
      return;
    }
    this.stream = stream;
    // The server confirms a subscription before sending anything else; a server that accepted the
    // connection but never confirms would otherwise leave the iteration waiting forever.
    this.startTimer = setTimeout(() => this.fail(timeoutError(this.timeoutMs)), this.timeoutMs);
    stream.once('confirmation', () => this.clearStartTimer());
    stream.once('caughtUp', () => this.clearStartTimer());
    stream.on('data', (resolved: AllStreamResolvedEvent) => this.onData(resolved));
    stream.on('error', (error: Error) => this.fail(toEventStoreError(error)));
    // A catch-up subscription only ends when we close it; any other end means the server dropped it.
    stream.once('end', () => this.fail(new EventStoreUnavailableError('event store unavailable: subscription ended')));
    stream.once('close', () =>
      this.fail(new EventStoreUnavailableError('event store unavailable: subscription closed')),
    );
  }

  private onData(resolved: AllStreamResolvedEvent): void {
    this.clearStartTimer();
    if (this.closed || this.failure !== null) return;
    const event = toRecordedEvent(resolved);
    if (event === null || isSystemEvent(event) || !matchesFilter(event, this.filter)) return;
    // The server's start position is exclusive and it delivers in order, but a duplicate or an
    // out-of-order event would corrupt projections, so anything not strictly after is dropped.
    if (!isAfterPosition(event.position, this.lastPosition)) return;
    this.lastPosition = event.position;
    const reader = this.waiting.shift();
    if (reader !== undefined) {
      reader.resolve({ done: false, value: event });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length >= SUBSCRIPTION_BUFFER_SIZE_MAX) this.stream?.pause();
  }

  private next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    const event = this.buffer.shift();
    if (event !== undefined) {
      if (this.buffer.length <= SUBSCRIPTION_BUFFER_SIZE_MAX / 2 && this.stream?.isPaused()) this.stream.resume();
      return Promise.resolve({ done: false, value: event });
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
  }

  /** Records the first failure, fails the waiting readers and drops the gRPC stream. */
  private fail(error: unknown): void {
    if (this.closed || this.failure !== null) return;
    this.failure = error;
    this.clearStartTimer();
    // Events already buffered are still delivered; the failure surfaces once they are consumed.
    for (const reader of this.waiting.splice(0)) reader.reject(error);
    void this.release();
  }

  private clearStartTimer(): void {
    if (this.startTimer !== null) {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }
  }

  /** Cancels the gRPC call, bounded by our timer because cancelling waits for the call to exist. */
  private async release(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (stream === null) return;
    try {
      await withTimeout(stream.unsubscribe(), this.timeoutMs);
    } catch {
      // The call is being abandoned either way; a failed cancel changes nothing for the reader.
    }
    stream.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------------------------

export class EventStoreDbEventStore implements EventStore {
  private readonly client: EventStoreDBClient;
  private readonly timeoutMs: number;
  private readonly pageSizeMax: number;
  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  /** Appends and reads accepted and not yet settled, which close() lets finish (each is bounded by timeoutMs). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(connectionString: string, options: EventStoreDbEventStoreOptions = {}) {
    this.timeoutMs = options.operationTimeoutMs ?? OPERATION_TIMEOUT_MS_DEFAULT;
    this.pageSizeMax = options.readPageSizeMax ?? READ_PAGE_SIZE_MAX_DEFAULT;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`operationTimeoutMs must be a positive integer, got ${this.timeoutMs}`);
    }
    if (!Number.isInteger(this.pageSizeMax) || this.pageSizeMax < 2) {
      throw new RangeError(`readPageSizeMax must be an integer of at least 2, got ${this.pageSizeMax}`);
    }
    this.client = EventStoreDBClient.connectionString(connectionString);
  }

  appendToStream(streamName: string, events: readonly NewEvent[], options: { readonly expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    return this.tracked(() => this.append(streamName, events, options));
  }

  private async append(
    streamName: string,
    events: readonly NewEvent[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    // EventStoreDB answers an empty append with "no position", and with revision 0 for a missing
    // stream, so there is no truthful AppendResult to return.
    if (events.length === 0) throw new RangeError(`appendToStream(${streamName}) needs at least one event`);
    assertExpectedRevision(options.expectedRevision);
    // The client (6.2) encodes each event with JSON.stringify inside an async Promise executor, so
    // what JSON cannot hold (a bigint) throws where nothing catches it: the append never settles
    // (our timer would answer "unavailable" after timeoutMs), the rejection is unhandled and ends
    // the process, and a batch already written may stay open on the server. Encoding every event
    // first refuses such an append before the client sees any of it. The client encodes the
    // events again; that is the price of handing it objects, as its jsonEvent wants.
    for (const event of events) encodeEvent(streamName, event);
    const expected = options.expectedRevision;
    let result: EsdbAppendResult;
    try {
      result = await withTimeout(
        this.client.appendToStream(streamName, events.map(toJsonEvent), {
          expectedRevision: toEsdbExpectedRevision(expected),
          deadline: this.timeoutMs,
        }),
        this.timeoutMs,
      );
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(streamName, expected, toActualRevision(error.actualVersion));
      }
      throw toEventStoreError(error);
    }
    if (!result.success) {
      // Only reachable when the connection string sets throwOnAppendFailure=false. The batch-append
      // path of client 6.2 reports a wrong current revision in that case, so it is not trusted.
      throw new WrongExpectedRevisionError(streamName, expected, null);
    }
    const nextRevision = result.nextExpectedRevision;
    const commit = result.position?.commit;
    if (commit !== undefined && commit >= 0n && commit < ESDB_UNKNOWN_POSITION) {
      return { nextRevision, position: commit };
    }
    // The server answers an idempotent re-append with the revision of the repeated batch's last
    // event, not the stream's end (AppendResult), and older servers without a position, so it is
    // looked up from that event.
    return { nextRevision, position: await this.positionOfRevision(streamName, nextRevision) };
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.tracked(() => this.read(streamName, options));
  }

  private async read(streamName: string, options: ReadStreamOptions): Promise<RecordedEvent[]> {
    const countMax = options.maxCount ?? Number.POSITIVE_INFINITY;
    const events: RecordedEvent[] = [];
    let fromRevision = options.fromRevision ?? 0n;
    if (fromRevision < 0n) throw new RangeError(`fromRevision must not be negative, got ${fromRevision.toString()}`);
    if (options.maxCount !== undefined && (!Number.isSafeInteger(options.maxCount) || options.maxCount < 0)) {
      throw new RangeError(`maxCount must be a whole number of at least 0, got ${options.maxCount}`);
    }
    // The server refuses a revision past a signed 64-bit one (its StreamRevision), and no stream
    // reaches one: reading on from there finds nothing, as on PostgreSQL.
    if (fromRevision > REVISION_MAX) return events;
    while (events.length < countMax) {
      const wanted = Math.min(this.pageSizeMax, countMax - events.length);
      let page: ResolvedEvent[];
      try {
        page = await collect(
          this.client.readStream(streamName, {
            fromRevision,
            maxCount: wanted,
            direction: FORWARDS,
            deadline: this.timeoutMs,
            requiresLeader: true,
          }),
          this.timeoutMs,
        );
      } catch (error) {
        // A stream that does not exist (or was soft-deleted) reads as empty.
        if (isStreamNotFound(error)) return events;
        throw toEventStoreError(error);
      }
      for (const resolved of page) {
        const event = toRecordedEvent(resolved);
        if (event !== null) events.push(event);
      }
      if (page.length < wanted) break;
      const last = page[page.length - 1];
      const lastRevision = last.event?.revision ?? last.link?.revision;
      if (lastRevision === undefined) break;
      fromRevision = lastRevision + 1n;
    }
    return events;
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.tracked(() => this.readAllEvents(options));
  }

  private async readAllEvents(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const countMax = options.maxCount;
    const events: RecordedEvent[] = [];
    // As on PostgreSQL; a fraction would otherwise reach the server as the count.
    if (!Number.isSafeInteger(countMax) || countMax <= 0) throw new RangeError(`maxCount must be a positive integer, got ${countMax}`);
    assertFromPosition(options.fromPosition);
    const fromPosition = options.fromPosition ?? null;
    // Reads of $all include the event at the start position (the server reads forward "from"
    // a position inclusively), so every page starts at the last seen event and drops it again.
    let cursor: Position | null = fromPosition === null ? null : { commit: fromPosition, prepare: fromPosition };
    while (events.length < countMax) {
      // One extra slot because a page that starts at the cursor returns the cursor's event again.
      const wanted = Math.min(this.pageSizeMax, countMax - events.length + (cursor === null ? 0 : 1));
      const page = await this.readAllPage(cursor ?? START, FORWARDS, wanted);
      let advanced = false;
      for (const resolved of page) {
        const position = resolved.event?.position ?? resolved.link?.position;
        if (position === undefined) continue;
        if (cursor !== null && comparePositions(position, cursor) <= 0) continue;
        cursor = position;
        advanced = true;
        const event = toRecordedEvent(resolved);
        if (event === null || isSystemEvent(event)) continue;
        if (!isAfterPosition(event.position, fromPosition)) continue;
        if (!matchesFilter(event, options.filter)) continue;
        events.push(event);
        if (events.length >= countMax) break;
      }
      if (page.length < wanted || !advanced) break;
    }
    return events;
  }

  subscribeToAll(options: SubscribeOptions = {}): EventSubscription {
    this.assertOpen();
    // Here, not when the subscription first calls the server: a bad position is the caller's mistake.
    assertFromPosition(options.fromPosition);
    const fromPosition = options.fromPosition ?? null;
    const filter = options.filter;
    const subscription = new EventStoreDbSubscription(
      () =>
        this.client.subscribeToAll({
          // The server's subscription start position is exclusive, like the port's.
          fromPosition: toReadPosition(fromPosition),
          filter: toEsdbFilter(filter),
          resolveLinkTos: false,
          requiresLeader: true,
        }),
      fromPosition,
      filter,
      this.timeoutMs,
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  headPosition(): Promise<bigint | null> {
    return this.tracked(() => this.head());
  }

  private async head(): Promise<bigint | null> {
    // $all keeps system events (statistics, metadata, projections) after the last one of ours, so
    // the log is scanned backwards page by page until a non-system event turns up.
    const pageSize = Math.min(this.pageSizeMax, HEAD_PAGE_SIZE_MAX);
    let cursor: ReadPosition = END;
    for (;;) {
      const page = await this.readAllPage(cursor, BACKWARDS, pageSize);
      let advanced = false;
      for (const resolved of page) {
        const position = resolved.event?.position ?? resolved.link?.position;
        if (position === undefined) continue;
        // A backwards read excludes its start position, but a repeat would loop forever.
        if (cursor !== END && comparePositions(position, cursor) >= 0) continue;
        cursor = position;
        advanced = true;
        const event = toRecordedEvent(resolved);
        if (event !== null && !isSystemEvent(event)) return event.position;
      }
      if (page.length < pageSize || !advanced) return null;
    }
  }

  /** The head: an EventStoreDB event is in $all, at its position, once its append is answered. */
  lastPosition(): Promise<bigint | null> {
    return this.headPosition();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    // dispose() cancels the client's open gRPC calls, the shared batch-append stream among them:
    // an append already sent would be rejected as unknown though it may be written, and a read
    // would hang until its timer. So what was accepted before close() is let finish first; each
    // is bounded by timeoutMs.
    await Promise.allSettled([...this.inFlight]);
    await this.client.dispose();
  }

  /** Runs an append or read that close() waits for; refused once the store is closing. */
  private tracked<T>(work: () => Promise<T>): Promise<T> {
    const running = (async () => {
      this.assertOpen();
      return work();
    })();
    this.inFlight.add(running);
    const forget = (): void => {
      this.inFlight.delete(running);
    };
    running.then(forget, forget);
    return running;
  }

  private async readAllPage(
    fromPosition: ReadPosition,
    direction: typeof FORWARDS | typeof BACKWARDS,
    maxCount: number,
  ): Promise<AllStreamResolvedEvent[]> {
    try {
      return await collect(
        this.client.readAll({ fromPosition, direction, maxCount, resolveLinkTos: false, deadline: this.timeoutMs, requiresLeader: true }),
        this.timeoutMs,
      );
    } catch (error) {
      throw toEventStoreError(error);
    }
  }

  /** The `$all` position of one stream event, for appends that came back without a position. */
  private async positionOfRevision(streamName: string, revision: bigint): Promise<bigint> {
    // Untracked: the append that asks is tracked already, and a close() begun meanwhile waits for it.
    const [event] = await this.read(streamName, { fromRevision: revision, maxCount: 1 });
    if (event === undefined || event.revision !== revision || event.position === UNKNOWN_POSITION) {
      throw new Error(
        `EventStoreDB accepted the append to ${streamName} but reported no position for revision ${revision.toString()}`,
      );
    }
    return event.position;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The EventStoreDB event store is closed');
  }
}
