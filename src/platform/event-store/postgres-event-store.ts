import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Client, type ClientConfig, DatabaseError, Pool } from 'pg';
import {
  type AppendResult,
  assertExpectedRevision,
  assertFromPosition,
  type EncodedEvent,
  encodeEvent,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  EventStoreUnavailableError,
  type EventSubscription,
  type ExpectedRevision,
  matchesFilter,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  REVISION_MAX,
  type SubscribeOptions,
  WrongExpectedRevisionError,
} from './event-store.port';
import { messageOf } from '../errors/message-of';
import { isDatabaseUnavailable } from '../database/database-unavailable';

export interface PostgresEventStoreOptions {
  readonly poolSizeMax?: number;
  /** Events read per query by a subscription. */
  readonly subscriptionBatchSizeMax?: number;
  /** How long a caught-up subscription waits for a notification before it polls anyway. */
  readonly pollIntervalMs?: number;
  /**
   * A caught-up subscription woken this soon after its previous read waits out the rest before it
   * reads again, so that under a stream of appends it reads them by the handful, not one by one.
   */
  readonly readIntervalMinMs?: number;
  readonly statementTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Appends in one call, at most; a bigger append is a programming error. */
  readonly appendSizeMax?: number;
  /**
   * Append statements on their way at once; appends made while that many are out wait and go
   * together in the next one (group commit). Default: half the pool, so reads keep connections.
   */
  readonly appendStatementsMax?: number;
  /**
   * Stream reads on their way at once; reads asked for while that many are out wait and go
   * together in the next one. Default: half the pool.
   */
  readonly readStatementsMax?: number;
}

/** What one caller of appendToStream waits for while its append sits in the queue. */
interface QueuedAppend {
  readonly streamName: string;
  readonly events: readonly NewEvent[];
  /** The events' data and metadata as JSON, one entry per event. */
  readonly encoded: readonly EncodedEvent[];
  readonly expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** What one caller of readStream waits for while its read sits in the queue. */
interface QueuedRead {
  readonly streamName: string;
  readonly fromRevision: bigint;
  readonly maxCount: number | null;
  resolve(events: RecordedEvent[]): void;
  reject(error: unknown): void;
}

/** One statement of gathered stream reads reads at most this many streams. */
const READ_GROUP_MAX = 200;

/** Events near the head kept for this process's subscriptions, at most. */
const TAIL_EVENTS_MAX = 1_000;
/** One read that extends the tail brings at most this many events. */
const TAIL_READ_MAX = 500;

/** What a subscription's read found: events of its filter, and how far $all has been looked through. */
export interface SubscriptionRead {
  readonly events: readonly RecordedEvent[];
  /** Every event up to this position has been looked at: the next read starts after it. */
  readonly scannedTo: bigint;
  /** Nothing more is stored yet: the subscription may wait for a wake-up. */
  readonly caughtUp: boolean;
}

/** append_to_streams' answer for one stream (bigints as text). */
interface GroupRow {
  readonly stream_index: number;
  readonly outcome: 'appended' | 'wrong_revision';
  readonly next_revision: string | null;
  readonly last_position: string | null;
  readonly actual_revision: string | null;
}

/** One statement of gathered appends writes at most this many streams and events. */
const GROUP_STREAMS_MAX = 500;
const GROUP_EVENTS_MAX = 5_000;

interface EventRow {
  global_position: string;
  stream_name: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  created_at: Date;
}

const NOTIFY_CHANNEL = 'ledger_events';
/** Other processes' subscribers hear of new events at most this late, and from one notification per interval. */
const NOTIFY_INTERVAL_MIN_MS = 50;
const EVENT_COLUMNS =
  'global_position, stream_name, stream_revision, event_id, event_type, data, metadata, created_at';

/**
 * The embedded default event store. The schema, and the reasoning that makes `$all` gap-safe,
 * live in `migrations/0001_create_event_store.sql`. This adapter uses `pg` directly rather than
 * slonik because it needs LISTEN/NOTIFY and the SQLSTATE codes the append function raises.
 */
export class PostgresEventStore implements EventStore {
  private readonly pool: Pool;
  private readonly wakeups = new EventEmitter();
  private listener: Client | null = null;
  private listenerStarting: Promise<void> | null = null;
  private closed = false;
  private readonly subscriptions = new Set<PostgresSubscription>();
  private readonly subscriptionBatchSizeMax: number;
  private readonly pollIntervalMs: number;
  private readonly readIntervalMinMs: number;
  private readonly appendSizeMax: number;
  /** Names this instance's notifications, so its own listener can pass over them. */
  private readonly instanceId = randomUUID();
  /** The highest position appended since the last notification was sent; null when none is owed. */
  private notifyOwed: bigint | null = null;
  private notifying: Promise<void> | null = null;
  private readonly appends: GatheringQueue<QueuedAppend>;
  private readonly reads: GatheringQueue<QueuedRead>;
  /**
   * The tail of $all that this process's subscriptions share: every event with a position in
   * (tailFrom, tailTo], in order. Subscriptions near the head (the projector's, normally all of
   * them) are served from it, so ten projections following the store cost one read of new events,
   * not ten. tailFrom is null until the first subscription reads.
   */
  private readonly tailEvents: RecordedEvent[] = [];
  private tailFrom: bigint | null = null;
  private tailTo: bigint | null = null;
  /** The last position a read of the tail returned: every event up to it is stored for good (rule 3). */
  private tailSeen: bigint | null = null;
  private tailReadQueued: Promise<boolean> | null = null;
  private tailReadOut: Promise<boolean> | null = null;

  constructor(
    private readonly connectionString: string,
    options: PostgresEventStoreOptions = {},
  ) {
    this.pool = new Pool({
      connectionString,
      max: options.poolSizeMax ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 10_000,
      application_name: 'ledger-event-store',
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
    this.subscriptionBatchSizeMax = options.subscriptionBatchSizeMax ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.readIntervalMinMs = options.readIntervalMinMs ?? 50;
    this.appendSizeMax = options.appendSizeMax ?? 10_000;
    const halfThePool = Math.max(1, Math.floor((options.poolSizeMax ?? 10) / 2));
    this.appends = new GatheringQueue('appendStatementsMax', options.appendStatementsMax ?? halfThePool, takeAppendGroup, (group) =>
      group.length === 1 ? this.appendAlone(group[0]) : this.appendTogether(group),
    );
    this.reads = new GatheringQueue('readStatementsMax', options.readStatementsMax ?? halfThePool, (queue) => queue.splice(0, READ_GROUP_MAX), (group) =>
      group.length === 1 ? this.readAlone(group[0]) : this.readTogether(group),
    );
    this.wakeups.setMaxListeners(0);
  }

  /**
   * Appends are queued (GatheringQueue): sent alone when few are on their way, or gathered with the
   * appends to other streams that arrived meanwhile into one statement (append_to_streams), one
   * round trip and one commit for all of them. Each caller still gets its own stream's outcome.
   */
  appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new Error('appendToStream needs at least one event'));
    if (events.length > this.appendSizeMax) return Promise.reject(new Error(`appendToStream takes at most ${this.appendSizeMax} events`));
    if (streamName.length === 0) return Promise.reject(new Error('streamName must not be empty'));
    if (this.closed) return Promise.reject(new Error('The event store is closed'));
    // Refused before it is queued: in SQL a revision past a bigint failed with an out-of-range
    // error (sending the group it went out with back to be appended one by one), and -1 was
    // taken for a revision the stream is not at.
    try {
      assertExpectedRevision(options.expectedRevision);
    } catch (error) {
      return Promise.reject(error);
    }
    // Encoded here, before the append is queued: an event that cannot be encoded fails its own
    // caller at once and never joins a group, so the appends it would have gone out with are
    // written (or refused) exactly as without it. Encoded in the statement, it would throw where
    // no caller of the group is answered, and every one of them would wait forever.
    let encoded: EncodedEvent[];
    try {
      encoded = events.map((event) => encodeEvent(streamName, event));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.appends.push({ streamName, events, encoded, expected: options.expectedRevision, resolve, reject });
    });
  }

  /** One append with append_events. */
  private async appendAlone(queued: QueuedAppend): Promise<void> {
    const { streamName, events, encoded, expected } = queued;
    const parameters = [
      streamName,
      typeof expected === 'bigint' ? 'exact' : expected,
      typeof expected === 'bigint' ? expected.toString() : null,
      events.map((event) => event.id),
      events.map((event) => event.type),
      encoded.map((event) => event.data),
      encoded.map((event) => event.metadata),
    ];
    const text =
      'SELECT next_revision, last_position FROM append_events($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])';
    // A concurrent append of the very same event ids loses the race on the unique event id;
    // asked once more, the function finds them stored and answers idempotently.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { rows } = await this.query<{ next_revision: string; last_position: string }>(text, parameters);
        const result = { nextRevision: BigInt(rows[0].next_revision), position: BigInt(rows[0].last_position) };
        this.announce(result.position);
        queued.resolve(result);
        return;
      } catch (error) {
        if (error instanceof DatabaseError && (error.code === 'EV001' || error.code === 'EV002')) {
          const actual = error.detail === undefined || error.detail === '-1' ? null : BigInt(error.detail);
          queued.reject(new WrongExpectedRevisionError(streamName, expected, actual));
          return;
        }
        if (error instanceof DatabaseError && error.code === '23505' && error.constraint === 'events_event_id_key' && attempt < 2) {
          continue;
        }
        queued.reject(error);
        return;
      }
    }
  }

  /**
   * Several appends, each to its own stream, in one append_to_streams statement (migration 0016). When the
   * statement as a whole fails for a reason of the database's (an event id stored already, a
   * unique-id race), each append is made again alone, where it gets its own precise answer.
   */
  private async appendTogether(group: readonly QueuedAppend[]): Promise<void> {
    // One JSON document for the whole group: the driver sends it as it is, where arrays of JSON
    // texts would cost it an escaped copy of every event. Each event's data and metadata go in as
    // appendToStream encoded them, so no event is encoded twice.
    const appends = `[${group.map(toGroupEntry).join(',')}]`;
    let rows: GroupRow[];
    try {
      ({ rows } = await this.query<GroupRow>(
        'SELECT stream_index, outcome, next_revision, last_position, actual_revision FROM append_to_streams($1::jsonb)',
        [appends],
      ));
    } catch (error) {
      // A group that ran past the statement timeout may have waited on one stream's lock only:
      // alone, the other appends go through.
      if (!(error instanceof DatabaseError) && !isStatementTimeout(error)) {
        for (const queued of group) queued.reject(error);
        return;
      }
      await Promise.all(group.map((queued) => this.appendAlone(queued)));
      return;
    }
    let last: bigint | null = null;
    for (const row of rows) {
      const queued = group[row.stream_index - 1];
      if (row.outcome === 'appended' && row.next_revision !== null && row.last_position !== null) {
        const position = BigInt(row.last_position);
        if (last === null || position > last) last = position;
        queued.resolve({ nextRevision: BigInt(row.next_revision), position });
      } else {
        const actual = row.actual_revision === null || row.actual_revision === '-1' ? null : BigInt(row.actual_revision);
        queued.reject(new WrongExpectedRevisionError(queued.streamName, queued.expected, actual));
      }
    }
    if (last !== null) this.announce(last);
  }

  /**
   * Reads are queued like appends: alone while few are on their way, else gathered with the reads
   * that queued meanwhile into one statement (one round trip, one snapshot for all of them). A
   * read still sees every append that completed before it was asked for: the statement that
   * serves it begins after that.
   */
  readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (this.closed) return Promise.reject(new Error('The event store is closed'));
    // Checked here, so that one caller's bad range cannot fail the statement it would share.
    const fromRevision = options.fromRevision ?? 0n;
    if (fromRevision < 0n) return Promise.reject(new RangeError(`fromRevision must not be negative, got ${fromRevision.toString()}`));
    // No stream reaches a revision past the column's bigint, which the statement could not even take:
    // reading on from the largest one (a page after the last a cursor can name) finds nothing.
    if (fromRevision > REVISION_MAX) return Promise.resolve([]);
    const maxCount = options.maxCount ?? null;
    if (maxCount !== null && (!Number.isSafeInteger(maxCount) || maxCount < 0)) return Promise.reject(new RangeError(`maxCount must be a whole number of at least 0, got ${maxCount}`));
    return new Promise((resolve, reject) => {
      this.reads.push({ streamName, fromRevision, maxCount, resolve, reject });
    });
  }

  private async readAlone(queued: QueuedRead): Promise<void> {
    try {
      const { rows } = await this.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events
          WHERE stream_name = $1 AND stream_revision >= $2
          ORDER BY stream_revision
          LIMIT $3`,
        [queued.streamName, queued.fromRevision.toString(), queued.maxCount],
      );
      queued.resolve(rows.map(toRecordedEvent));
    } catch (error) {
      queued.reject(error);
    }
  }

  /** Several reads in one statement: each read's own range of its own stream (LIMIT NULL is no limit). */
  private async readTogether(group: readonly QueuedRead[]): Promise<void> {
    let rows: Array<EventRow & { read_index: number }>;
    try {
      ({ rows } = await this.query<EventRow & { read_index: number }>(
        `SELECT r.read_index::int AS read_index, e.*
           FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS r (stream_name, from_revision, max_count, read_index)
          CROSS JOIN LATERAL (
            SELECT ${EVENT_COLUMNS} FROM events
             WHERE events.stream_name = r.stream_name AND events.stream_revision >= r.from_revision
             ORDER BY events.stream_revision
             LIMIT r.max_count) e
          ORDER BY r.read_index, e.stream_revision`,
        [
          group.map((queued) => queued.streamName),
          group.map((queued) => queued.fromRevision.toString()),
          group.map((queued) => queued.maxCount),
        ],
      ));
    } catch (error) {
      for (const queued of group) queued.reject(error);
      return;
    }
    const events = group.map((): RecordedEvent[] => []);
    for (const row of rows) events[row.read_index - 1].push(toRecordedEvent(row));
    group.forEach((queued, index) => queued.resolve(events[index]));
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    if (!Number.isInteger(options.maxCount) || options.maxCount <= 0) throw new Error('maxCount must be a positive integer');
    assertFromPosition(options.fromPosition);
    const from = options.fromPosition ?? 0n;
    const [categories, types] = filterValues(options.filter);
    // The function fixes the read horizon, then reads below it: rule 3 of the migrations' header.
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM read_events_after($1, $2, $3::text[], $4::text[])`,
      [from.toString(), options.maxCount, categories, types],
    );
    return rows.map(toRecordedEvent);
  }

  subscribeToAll(options: SubscribeOptions = {}): EventSubscription {
    if (this.closed) throw new Error('The event store is closed');
    assertFromPosition(options.fromPosition);
    const subscription = new PostgresSubscription(this, options, this.subscriptionBatchSizeMax, this.pollIntervalMs, this.readIntervalMinMs);
    this.subscriptions.add(subscription);
    subscription.onClose(() => this.subscriptions.delete(subscription));
    void this.ensureListener().catch(() => undefined);
    return subscription;
  }

  async headPosition(): Promise<bigint | null> {
    const { rows } = await this.query<{ position: string | null }>('SELECT events_head_position()::text AS position', []);
    return rows[0].position === null ? null : BigInt(rows[0].position);
  }

  async lastPosition(): Promise<bigint | null> {
    const { rows } = await this.query<{ position: string | null }>('SELECT max(global_position)::text AS position FROM events', []);
    return rows[0].position === null ? null : BigInt(rows[0].position);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends and reads already accepted are made (or fail) before the pool goes.
    await Promise.all([this.appends.drained(), this.reads.drained()]);
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.wakeups.emit('wake');
    await this.notifying;
    const listener = this.listener;
    this.listener = null;
    if (listener !== null) await listener.end().catch(() => undefined);
    await this.pool.end();
  }

  /**
   * Tells subscribers that events up to `position` are stored. This process's own wake up at once,
   * in memory; other processes (a separate projector, other instances) through one pg_notify sent
   * after the append, never inside it (see migration 0015: a notifying transaction holds a
   * cluster-wide lock through its commit). Appends that commit while a notification is on its way
   * share the next one.
   */
  private announce(position: bigint): void {
    this.wakeups.emit('wake');
    if (this.notifyOwed === null || position > this.notifyOwed) this.notifyOwed = position;
    this.notifying ??= this.sendNotifications().finally(() => {
      this.notifying = null;
    });
  }

  private async sendNotifications(): Promise<void> {
    while (this.notifyOwed !== null && !this.closed) {
      const position = this.notifyOwed;
      this.notifyOwed = null;
      const sentAt = Date.now();
      // A lost notification only delays other processes' subscribers to their polling interval.
      await this.pool.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `${this.instanceId} ${position.toString()}`]).catch(() => undefined);
      // Appends committing meanwhile share the next notification, at most one per interval.
      const restMs = sentAt + NOTIFY_INTERVAL_MIN_MS - Date.now();
      if (this.notifyOwed !== null && restMs > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
    }
  }

  /**
   * @internal A subscription's read: from the shared tail when `after` lies within it (after one
   * shared read of what is new, when it has looked at the whole tail already), else a read of its
   * own. Gap safety carries over: a read of $all (read_events_after) returns every event up to
   * the last one it returns, and none can appear there later (rule 3), so the tail, made of such
   * reads end to end, holds every event of its range.
   */
  async readForSubscription(after: bigint, countMax: number, filter: EventFilter | undefined): Promise<SubscriptionRead> {
    if (this.tailFrom === null || this.tailTo === null || after > this.tailTo + BigInt(TAIL_READ_MAX)) {
      // The tail starts where the first subscription stands, and jumps to one far ahead of it
      // rather than crawl there; the subscriptions it leaves behind read on their own.
      this.tailEvents.length = 0;
      this.tailFrom = after;
      this.tailTo = after;
    }
    if (after >= this.tailFrom) {
      const cached = this.fromTail(after, countMax, filter);
      if (cached.events.length > 0) return { ...cached, caughtUp: false };
      const caughtUp = await this.extendTail();
      if (this.tailFrom !== null && after >= this.tailFrom) {
        const served = this.fromTail(after, countMax, filter);
        return { ...served, caughtUp: caughtUp && served.events.length < countMax };
      }
    }
    // Behind the tail (a projection catching up): a read of its own. Every event up to tailSeen
    // was stored before this read begins, so a read that comes back short has seen up to there.
    const bound = this.tailSeen ?? after;
    const events = await this.readAll({ fromPosition: after, maxCount: countMax, filter });
    const last = events.at(-1)?.position ?? after;
    if (events.length === countMax) return { events, scannedTo: last, caughtUp: false };
    return { events, scannedTo: last > bound ? last : bound, caughtUp: true };
  }

  /** The tail's events after `after` that pass `filter`, at most `countMax`. */
  private fromTail(after: bigint, countMax: number, filter: EventFilter | undefined): { events: RecordedEvent[]; scannedTo: bigint } {
    const events: RecordedEvent[] = [];
    let low = 0;
    let high = this.tailEvents.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.tailEvents[middle].position <= after) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.tailEvents.length; index += 1) {
      const event = this.tailEvents[index];
      if (!matchesFilter(event, filter)) continue;
      events.push(event);
      if (events.length === countMax) return { events, scannedTo: event.position };
    }
    const tailTo = this.tailTo ?? after;
    return { events, scannedTo: tailTo > after ? tailTo : after };
  }

  /**
   * One read of what follows the tail, shared by every subscription that asks before it begins;
   * one that asks while a read is out waits for the next, which begins after it asked (its wake-up
   * may announce an event that read is too early to see). Answers whether the read reached the end.
   */
  private extendTail(): Promise<boolean> {
    this.tailReadQueued ??= (async () => {
      await this.tailReadOut?.catch(() => undefined);
      // Subscriptions woken by the same append ask in the same turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      const read = this.readTail();
      this.tailReadQueued = null;
      this.tailReadOut = read;
      try {
        return await read;
      } finally {
        if (this.tailReadOut === read) this.tailReadOut = null;
      }
    })();
    return this.tailReadQueued;
  }

  private async readTail(): Promise<boolean> {
    const from = this.tailTo ?? 0n;
    const events = await this.readAll({ fromPosition: from, maxCount: TAIL_READ_MAX });
    const last = events.at(-1)?.position;
    if (last !== undefined && (this.tailSeen === null || last > this.tailSeen)) this.tailSeen = last;
    // The tail jumped ahead to a subscription while this read was out: the read does not fit.
    if (this.tailTo !== from) return false;
    this.tailEvents.push(...events);
    if (last !== undefined) this.tailTo = last;
    const excess = this.tailEvents.length - TAIL_EVENTS_MAX;
    if (excess > 0) {
      this.tailFrom = this.tailEvents[excess - 1].position;
      this.tailEvents.splice(0, excess);
    }
    return events.length < TAIL_READ_MAX;
  }

  /** @internal Resolves on the next notification (unless `ignoreWakeups`), after `timeoutMs`, or on abort. */
  waitForWakeup(timeoutMs: number, signal: AbortSignal, options: { readonly ignoreWakeups?: boolean } = {}): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeups.off('wake', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      if (options.ignoreWakeups !== true) this.wakeups.once('wake', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** @internal */
  async ensureListener(): Promise<void> {
    if (this.listener !== null || this.closed) return;
    if (this.listenerStarting !== null) return this.listenerStarting;
    this.listenerStarting = (async () => {
      const config: ClientConfig = { connectionString: this.connectionString, connectionTimeoutMillis: 10_000, application_name: 'ledger-event-listener' };
      const client = new Client(config);
      // This instance's own appends woke its subscribers already, when they committed.
      client.on('notification', (message) => {
        if (message.payload?.startsWith(`${this.instanceId} `) !== true) this.wakeups.emit('wake');
      });
      // A lost listener only slows subscriptions down to the polling interval; it is re-created
      // by the next subscription read.
      client.on('error', () => {
        if (this.listener === client) this.listener = null;
        void client.end().catch(() => undefined);
      });
      client.on('end', () => {
        if (this.listener === client) this.listener = null;
      });
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.listener = client;
    })().finally(() => {
      this.listenerStarting = null;
    });
    return this.listenerStarting;
  }

  private async query<Row extends object>(text: string, values: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await this.pool.query<Row>(text, values);
    } catch (error) {
      // The database down or unreachable, or a statement it gave up on (57014, the statement
      // timeout, which rolled it back): nothing was recorded. A bad statement is not that.
      if (isDatabaseUnavailable(error)) throw unavailable(error);
      throw error;
    }
  }
}

/**
 * Work that callers queue and statements carry: at most `statementsMax` statements on their way
 * at once; what queues meanwhile waits, and `take` picks (and removes) what the next one carries.
 * `send` answers every caller of its group and does not reject.
 */
class GatheringQueue<Item> {
  private readonly queue: Item[] = [];
  private statementsOut = 0;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    optionName: string,
    private readonly statementsMax: number,
    private readonly take: (queue: Item[]) => Item[],
    private readonly send: (group: Item[]) => Promise<void>,
  ) {
    if (!Number.isInteger(statementsMax) || statementsMax < 1) throw new Error(`${optionName} must be a positive integer`);
  }

  push(item: Item): void {
    this.queue.push(item);
    this.sendWhileRoom();
  }

  /** Resolves once nothing is queued or on its way. */
  drained(): Promise<void> {
    if (this.statementsOut === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private sendWhileRoom(): void {
    while (this.statementsOut < this.statementsMax && this.queue.length > 0) {
      const group = this.take(this.queue);
      this.statementsOut += 1;
      void this.send(group).finally(() => {
        this.statementsOut -= 1;
        if (this.statementsOut === 0 && this.queue.length === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
        this.sendWhileRoom();
      });
    }
  }
}

/** One append as an entry of append_to_streams' document (migration 0016). */
function toGroupEntry(queued: QueuedAppend): string {
  const expected = typeof queued.expected === 'bigint' ? 'exact' : queued.expected;
  const revision = typeof queued.expected === 'bigint' ? queued.expected.toString() : null;
  const events = queued.events.map(
    (event, index) =>
      `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"data":${queued.encoded[index].data},"metadata":${queued.encoded[index].metadata}}`,
  );
  return `{"stream":${JSON.stringify(queued.streamName)},"expected":${JSON.stringify(expected)},"revision":${JSON.stringify(revision)},"events":[${events.join(',')}]}`;
}

/**
 * The oldest queued appends, one per stream (a second append to a stream waits for the next
 * statement, so one stream's appends keep their order), within the statement's bounds.
 */
function takeAppendGroup(queue: QueuedAppend[]): QueuedAppend[] {
  const group: QueuedAppend[] = [];
  const rest: QueuedAppend[] = [];
  const streams = new Set<string>();
  let events = 0;
  for (const queued of queue) {
    const fits = group.length === 0 || (group.length < GROUP_STREAMS_MAX && events + queued.events.length <= GROUP_EVENTS_MAX);
    if (fits && !streams.has(queued.streamName)) {
      group.push(queued);
      streams.add(queued.streamName);
      events += queued.events.length;
    } else {
      rest.push(queued);
    }
  }
  queue.splice(0, queue.length, ...rest);
  return group;
}

class PostgresSubscription implements EventSubscription {
  private readonly abort = new AbortController();
  private readonly closeHandlers: Array<() => void> = [];
  private position: bigint;
  private iterating = false;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly options: SubscribeOptions,
    private readonly batchSizeMax: number,
    private readonly pollIntervalMs: number,
    private readonly readIntervalMinMs: number,
  ) {
    this.position = options.fromPosition ?? 0n;
  }

  onClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (const handler of this.closeHandlers) handler();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.iterating) throw new Error('A subscription can be iterated only once');
    this.iterating = true;
    try {
      while (!this.abort.signal.aborted) {
        // Read before waiting, so a notification that arrived while we were busy is never lost.
        void this.store.ensureListener().catch(() => undefined);
        const readAt = Date.now();
        const read = await this.store.readForSubscription(this.position, this.batchSizeMax, this.options.filter);
        for (const event of read.events) {
          if (this.abort.signal.aborted) return;
          yield event;
        }
        this.position = read.scannedTo;
        if (read.caughtUp) {
          await this.store.waitForWakeup(this.pollIntervalMs, this.abort.signal);
          const soonMs = readAt + this.readIntervalMinMs - Date.now();
          if (soonMs > 0) await this.store.waitForWakeup(soonMs, this.abort.signal, { ignoreWakeups: true });
        }
      }
    } finally {
      await this.close();
    }
  }
}

/** read_events_after's category and type filters; null where the filter does not restrict. */
function filterValues(filter: EventFilter | undefined): [string[] | null, string[] | null] {
  if (filter === undefined) return [null, null];
  switch (filter.kind) {
    case 'category':
      return [[...filter.categories], null];
    case 'eventType':
      return [null, [...filter.eventTypes]];
    default: {
      const unreachable: never = filter;
      throw new Error(`Unknown filter ${JSON.stringify(unreachable)}`);
    }
  }
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.event_type,
    streamName: row.stream_name,
    revision: BigInt(row.stream_revision),
    position: BigInt(row.global_position),
    data: row.data,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}


function isStatementTimeout(error: unknown): boolean {
  const cause = error instanceof EventStoreUnavailableError ? error.cause : error;
  return cause instanceof DatabaseError && cause.code === '57014';
}

function unavailable(error: unknown): EventStoreUnavailableError {
  const message = messageOf(error);
  return new EventStoreUnavailableError(`event store unavailable: ${message}`, { cause: error });
}
