import { v7 as uuidv7 } from 'uuid';

/**
 * The event store port. Two adapters implement it (PostgreSQL, the embedded default, and
 * EventStoreDB) and both must pass the contract suite in `test/event-store.contract.ts`.
 *
 * Positions are opaque, ever-increasing bigints: readers may compare them but must not assume
 * they are contiguous (PostgreSQL leaves gaps after rolled-back appends, EventStoreDB uses log
 * offsets). Every "from position" in this port is exclusive: reading from `p` returns the events
 * after `p`, so a stored checkpoint can be passed back as it is. `null` means "from the start".
 */

export const EVENT_STORE = Symbol('EVENT_STORE');

/**
 * A new event's id: a UUID v7 (RFC 9562). Its first 48 bits are the time in milliseconds; the
 * rest hold a counter that starts at a random value each millisecond, and 42 random bits. Ids made
 * by one process sort in the order they were made, and processes need no coordination to keep
 * them unique. The PostgreSQL store keeps a unique index on event ids: a random (v4) id sent
 * every append to a random page of it, which costs more once the index outgrows PostgreSQL's
 * buffer cache, while time-ordered ids land at its right-hand edge, as positions do.
 */
export function newEventId(): string {
  return uuidv7();
}

export type ActorKind = 'integration' | 'admin' | 'system';

export interface Actor {
  readonly kind: ActorKind;
  readonly name: string;
}

/** Metadata every event carries (SPEC §3). Extra keys (request id, client IP) are allowed. */
export interface EventMetadata {
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: Actor;
  readonly schemaVersion: number;
  readonly [key: string]: unknown;
}

export type EventData = Readonly<Record<string, unknown>>;

export interface NewEvent {
  /**
   * A UUID chosen by the writer. Appending the same events again to the same stream at the same
   * expected revision (a retry after a timeout) writes nothing and answers as the first append
   * did (`AppendResult`): both stores keep that, and the contract suite pins it. No more is
   * promised: EventStoreDB compares ids only within a stream, and for `any` only with appends it
   * still holds in memory, where PostgreSQL refuses an id it stored anywhere. So no write path
   * relies on ids beyond that; each appends at the exact revision of the state it decided on.
   */
  readonly id: string;
  readonly type: string;
  readonly data: EventData;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamName: string;
  /** Zero-based revision of the event within its stream. */
  readonly revision: bigint;
  /** Position in `$all`. */
  readonly position: bigint;
  readonly data: EventData;
  readonly metadata: EventMetadata;
  readonly createdAt: Date;
}

/**
 * `no_stream`: the stream must not exist. `stream_exists`: it must exist. `any`: no check.
 * A bigint: the revision of the stream's last event must be exactly that, 0 to REVISION_MAX.
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

/**
 * The largest revision and the largest position either store holds: both keep them as signed
 * 64-bit numbers (a PostgreSQL bigint; EventStoreDB's stream revisions and log positions).
 */
export const REVISION_MAX = 2n ** 63n - 1n;
export const POSITION_MAX = 2n ** 63n - 1n;

/**
 * Refuses an exact expected revision outside 0 to REVISION_MAX, a caller's mistake, with a
 * RangeError before the store sees it. Handed on, PostgreSQL failed it with an SQL error (or took
 * -1 for a revision the stream is not at), and EventStoreDB's client writes it into an unsigned
 * 64-bit field unchecked: 2^64 would go out as 0, an append at a revision the stream may be at.
 */
export function assertExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'bigint' && (expected < 0n || expected > REVISION_MAX)) {
    throw new RangeError(`expectedRevision must be no_stream, stream_exists, any or a revision from 0 to ${REVISION_MAX.toString()}, got ${expected.toString()}`);
  }
}

/**
 * Refuses a `fromPosition` outside 0 to POSITION_MAX with a RangeError before the store sees it:
 * no event is at one, so none came from a store. PostgreSQL read a negative one as the start and
 * failed a larger one with an SQL error; EventStoreDB's client would send 2^64 as 0.
 */
export function assertFromPosition(fromPosition: bigint | null | undefined): void {
  if (fromPosition !== null && fromPosition !== undefined && (fromPosition < 0n || fromPosition > POSITION_MAX)) {
    throw new RangeError(`fromPosition must be null or a position from 0 to ${POSITION_MAX.toString()}, got ${fromPosition.toString()}`);
  }
}

/**
 * What an append wrote: the revision and position of its own last event. An append repeated with
 * the same event ids (see `NewEvent.id`) writes nothing and answers what the append that wrote them
 * answered, even when the stream has moved on since: EventStoreDB reports an idempotent write with
 * the batch's own last event number, and the PostgreSQL store answers the same (migration 0027). So
 * a writer that retries after a lost answer learns where its own events ended, never a revision
 * that would take the events appended in between for part of the state it decided on.
 */
export interface AppendResult {
  /** Revision of this append's last event (for a repeat, of the original append's last event). */
  readonly nextRevision: bigint;
  /** Position in `$all` of this append's last event (for a repeat, of the original append's). */
  readonly position: bigint;
}

/** Only events of these categories (the part of the stream name before the first `-`). */
export interface CategoryFilter {
  readonly kind: 'category';
  readonly categories: readonly string[];
}

/** Only events of these types. */
export interface EventTypeFilter {
  readonly kind: 'eventType';
  readonly eventTypes: readonly string[];
}

export type EventFilter = CategoryFilter | EventTypeFilter;

export interface ReadStreamOptions {
  /** Inclusive; default 0. Negative: a RangeError; above REVISION_MAX: nothing, as past a stream's end. */
  readonly fromRevision?: bigint;
  /** Default: the whole stream. */
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive; `null` or absent reads from the start. 0 to POSITION_MAX, else a RangeError. */
  readonly fromPosition?: bigint | null;
  readonly maxCount: number;
  readonly filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive; `null` or absent subscribes from the start. 0 to POSITION_MAX, else subscribeToAll throws a RangeError. */
  readonly fromPosition?: bigint | null;
  readonly filter?: EventFilter;
}

/**
 * A catch-up subscription: it yields every stored event after `fromPosition`, in position order,
 * then keeps yielding new ones as they are appended. It ends only when closed, and rejects the
 * iteration when the store fails.
 */
export interface EventSubscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;

  /** The stream's events in revision order; an empty array when the stream does not exist. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** At most `maxCount` events after `fromPosition`, in position order. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;

  subscribeToAll(options?: SubscribeOptions): EventSubscription;

  /** Position of the last event in `$all`, or `null` when the store is empty. */
  headPosition(): Promise<bigint | null>;

  /**
   * Position of the last event stored, or `null` when the store is empty. Unlike `headPosition`,
   * it counts an event committed after an append still in flight (on PostgreSQL the head stops
   * before such an append, so that nothing read up to it can be passed by a late commit). No
   * append has answered a position above it: a position above it came from no command.
   */
  lastPosition(): Promise<bigint | null>;

  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision; `null` when it does not exist or is unknown. */
    readonly actual: bigint | null,
  ) {
    super(
      `Stream ${streamName} expected ${String(expected)} but is at ${actual === null ? 'no stream' : actual.toString()}`,
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

export class EventStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}

/** An event's data and metadata as the JSON texts an append writes. */
export interface EncodedEvent {
  readonly data: string;
  readonly metadata: string;
}

/**
 * Encodes an event's data and metadata as JSON, as both stores must before they hand an append on:
 * JSON.stringify throws on what JSON cannot hold (a bigint left unconverted, a cycle), and thrown
 * inside a driver's or a group's callback it settled no caller. Such an event is a programmer
 * error; the message names the event type and stream, never the data itself.
 */
export function encodeEvent(streamName: string, event: NewEvent): EncodedEvent {
  return { data: encodeField(streamName, event, 'data'), metadata: encodeField(streamName, event, 'metadata') };
}

function encodeField(streamName: string, event: NewEvent, field: 'data' | 'metadata'): string {
  const refusal = (cause?: unknown): Error =>
    new Error(`Event ${event.type} for stream ${streamName} was not appended: its ${field} cannot be encoded as JSON`, { cause });
  let text: string | undefined;
  try {
    text = JSON.stringify(event[field]);
  } catch (error) {
    throw refusal(error);
  }
  // JSON.stringify answers undefined, not a text, for a value JSON has no form for (a function).
  if (text === undefined) throw refusal();
  return text;
}

export function categoryOf(streamName: string): string {
  const dash = streamName.indexOf('-');
  return dash === -1 ? streamName : streamName.slice(0, dash);
}

export function matchesFilter(event: Pick<RecordedEvent, 'streamName' | 'type'>, filter?: EventFilter): boolean {
  if (filter === undefined) return true;
  switch (filter.kind) {
    case 'category':
      return filter.categories.includes(categoryOf(event.streamName));
    case 'eventType':
      return filter.eventTypes.includes(event.type);
    default: {
      const unreachable: never = filter;
      throw new Error(`Unknown filter ${JSON.stringify(unreachable)}`);
    }
  }
}
