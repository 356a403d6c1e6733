import { EventEmitter } from 'node:events';
import { Client, type ClientConfig, DatabaseError, Pool } from 'pg';
import {
  type AppendResult,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  EventStoreUnavailableError,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  WrongExpectedRevisionError,
} from './event-store.port';

export interface PostgresEventStoreOptions {
  readonly poolSizeMax?: number;
  /** Events read per query by a subscription. */
  readonly subscriptionBatchSizeMax?: number;
  /** How long a caught-up subscription waits for a notification before it polls anyway. */
  readonly pollIntervalMs?: number;
  readonly statementTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Appends in one call, at most; a bigger append is a programming error. */
  readonly appendSizeMax?: number;
}

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
const EVENT_COLUMNS =
  'global_position, stream_name, stream_revision, event_id, event_type, data, metadata, created_at';

/** Connection-level failures: the database is down or unreachable, not a bad statement. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

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
  private readonly appendSizeMax: number;

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
    this.appendSizeMax = options.appendSizeMax ?? 10_000;
    this.wakeups.setMaxListeners(0);
  }

  async appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('appendToStream needs at least one event');
    if (events.length > this.appendSizeMax) throw new Error(`appendToStream takes at most ${this.appendSizeMax} events`);
    if (streamName.length === 0) throw new Error('streamName must not be empty');
    const expected = options.expectedRevision;
    const expectedKind = typeof expected === 'bigint' ? 'exact' : expected;
    const expectedRevision = typeof expected === 'bigint' ? expected.toString() : null;
    const parameters = [
      streamName,
      expectedKind,
      expectedRevision,
      events.map((event) => event.id),
      events.map((event) => event.type),
      events.map((event) => JSON.stringify(event.data)),
      events.map((event) => JSON.stringify(event.metadata)),
    ];
    const text =
      'SELECT next_revision, last_position FROM append_events($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])';
    // A concurrent append of the very same event ids loses the race on the unique event id;
    // asked once more, the function finds them stored and answers idempotently.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { rows } = await this.query<{ next_revision: string; last_position: string }>(text, parameters);
        return { nextRevision: BigInt(rows[0].next_revision), position: BigInt(rows[0].last_position) };
      } catch (error) {
        if (error instanceof DatabaseError && (error.code === 'EV001' || error.code === 'EV002')) {
          const actual = error.detail === undefined || error.detail === '-1' ? null : BigInt(error.detail);
          throw new WrongExpectedRevisionError(streamName, expected, actual);
        }
        if (error instanceof DatabaseError && error.code === '23505' && error.constraint === 'events_event_id_key' && attempt < 2) {
          continue;
        }
        throw error;
      }
    }
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const fromRevision = options.fromRevision ?? 0n;
    const maxCount = options.maxCount ?? null;
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE stream_name = $1 AND stream_revision >= $2
        ORDER BY stream_revision
        LIMIT $3`,
      [streamName, fromRevision.toString(), maxCount],
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    if (!Number.isInteger(options.maxCount) || options.maxCount <= 0) throw new Error('maxCount must be a positive integer');
    const from = options.fromPosition ?? 0n;
    const [filterSql, filterValue] = filterClause(options.filter);
    const horizon = await this.readHorizon();
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE global_position > $1
          AND transaction_id < $3::xid8
          ${filterSql}
        ORDER BY global_position
        LIMIT $2`,
      filterValue === null ? [from.toString(), options.maxCount, horizon] : [from.toString(), options.maxCount, horizon, filterValue],
    );
    return rows.map(toRecordedEvent);
  }

  subscribeToAll(options: SubscribeOptions = {}): EventSubscription {
    if (this.closed) throw new Error('The event store is closed');
    const subscription = new PostgresSubscription(this, options, this.subscriptionBatchSizeMax, this.pollIntervalMs);
    this.subscriptions.add(subscription);
    subscription.onClose(() => this.subscriptions.delete(subscription));
    void this.ensureListener().catch(() => undefined);
    return subscription;
  }

  async headPosition(): Promise<bigint | null> {
    const horizon = await this.readHorizon();
    const { rows } = await this.query<{ position: string | null }>(
      'SELECT max(global_position)::text AS position FROM events WHERE transaction_id < $1::xid8',
      [horizon],
    );
    return rows[0].position === null ? null : BigInt(rows[0].position);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.wakeups.emit('wake');
    const listener = this.listener;
    this.listener = null;
    if (listener !== null) await listener.end().catch(() => undefined);
    await this.pool.end();
  }

  /** @internal Resolves on the next notification, or after `timeoutMs`. */
  waitForWakeup(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeups.off('wake', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wakeups.once('wake', done);
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
      client.on('notification', () => this.wakeups.emit('wake'));
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

  /**
   * Readers of $all see only events of transactions below this horizon, fixed before (and so with
   * an older snapshot than) the read itself: see rule 3 in the migration's header.
   */
  private async readHorizon(): Promise<string> {
    const { rows } = await this.query<{ horizon: string }>('SELECT events_read_horizon()::text AS horizon', []);
    return rows[0].horizon;
  }

  private async query<Row extends object>(text: string, values: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await this.pool.query<Row>(text, values);
    } catch (error) {
      if (isUnavailable(error)) throw unavailable(error);
      throw error;
    }
  }
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
        const batch = await this.store.readAll({
          fromPosition: this.position,
          maxCount: this.batchSizeMax,
          filter: this.options.filter,
        });
        for (const event of batch) {
          if (this.abort.signal.aborted) return;
          this.position = event.position;
          yield event;
        }
        if (batch.length < this.batchSizeMax) {
          await this.store.waitForWakeup(this.pollIntervalMs, this.abort.signal);
        }
      }
    } finally {
      await this.close();
    }
  }
}

function filterClause(filter: EventFilter | undefined): [string, string[] | null] {
  if (filter === undefined) return ['', null];
  switch (filter.kind) {
    case 'category':
      return ['AND stream_category = ANY($4::text[])', [...filter.categories]];
    case 'eventType':
      return ['AND event_type = ANY($4::text[])', [...filter.eventTypes]];
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

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message);
}

function unavailable(error: unknown): EventStoreUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  return new EventStoreUnavailableError(`event store unavailable: ${message}`, { cause: error });
}
