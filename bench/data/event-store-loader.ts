import { Client } from 'pg';
import { fold } from '../../src/platform/decider';
import { categoryOf, type EventStore, type NewEvent } from '../../src/platform/event-store/event-store.port';
import { userDecider } from '../../src/identity/user/user.decider';
import { toStreamName } from '../../src/identity/user/user.stream';
import { copyIn, copyLine } from './pg-copy';
import { type HistoryEvent, type LedgerHistory } from './ledger-history';

/** COPY text is sent in chunks of about this many bytes. */
const CHUNK_BYTES = 512 * 1024;

/**
 * Writes a history into the PostgreSQL event store in one transaction with COPY, as one big append
 * that follows the store's own protocol (migrations/0001_create_event_store.sql): the transaction
 * id and the positions are taken under the exclusive advisory lock 7358/1, the transaction holds
 * the shared advisory lock keyed by its own id while in flight, every row carries that transaction
 * id, positions come from events_global_position_seq in the order of the history (its time
 * order), revisions count from 0 in each stream, `stream_category` is the part before the first
 * `-`, and `event_streams` holds each stream's last revision. Answers the events written.
 */
export async function loadIntoPostgres(databaseUrl: string, history: LedgerHistory): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench-loader' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_lock(7358, 1)');
    let first: bigint;
    let count = 0;
    try {
      const { rows } = await client.query<{ xid: string; first: string }>(
        `SELECT pg_current_xact_id()::text AS xid, nextval('events_global_position_seq')::text AS first`,
      );
      const xid = rows[0].xid;
      first = BigInt(rows[0].first);
      await client.query('SELECT pg_advisory_xact_lock_shared($1::bigint)', [xid]);
      const revisions = new Map<string, number>();
      const lines = (function* chunks(): Generator<string> {
        let chunk = '';
        for (const event of history.events()) {
          const revision = revisions.get(event.streamName) ?? 0;
          revisions.set(event.streamName, revision + 1);
          chunk += eventLine(event, first + BigInt(count), revision, xid);
          count += 1;
          if (chunk.length >= CHUNK_BYTES) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk.length > 0) yield chunk;
      })();
      await copyIn(
        client,
        'COPY events (global_position, stream_name, stream_category, stream_revision, event_id, event_type, data, metadata, transaction_id, created_at) FROM STDIN',
        lines,
      );
      await copyIn(
        client,
        'COPY event_streams (stream_name, stream_revision) FROM STDIN',
        (function* streams(): Generator<string> {
          let chunk = '';
          for (const [stream, events] of revisions) {
            chunk += copyLine([stream, events - 1]);
            if (chunk.length >= CHUNK_BYTES) {
              yield chunk;
              chunk = '';
            }
          }
          if (chunk.length > 0) yield chunk;
        })(),
      );
      // The positions this append used, as if nextval had been called for each of them.
      if (count > 0) await client.query(`SELECT setval('events_global_position_seq', $1::bigint)`, [(first + BigInt(count) - 1n).toString()]);
    } finally {
      await client.query('SELECT pg_advisory_unlock(7358, 1)');
    }
    await client.query('COMMIT');
    // A store that has lived this long has statistics; the readers' plans depend on them.
    await client.query('ANALYZE events');
    await client.query('ANALYZE event_streams');
    return count;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

function eventLine(event: HistoryEvent, position: bigint, revision: number, xid: string): string {
  return copyLine([
    position,
    event.streamName,
    categoryOf(event.streamName),
    revision,
    event.id,
    event.type,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
    xid,
    new Date(event.at).toISOString(),
  ]);
}

/**
 * Writes a history through the event store port (EventStoreDB): each stream's events in one append
 * with `no_stream`, several streams at a time. `$all` then holds the streams one after another
 * rather than in time order, which no reader of this benchmark depends on.
 */
export async function loadThroughPort(store: EventStore, history: LedgerHistory, options: { concurrency?: number; appendSizeMax?: number } = {}): Promise<number> {
  const byStream = new Map<string, NewEvent[]>();
  for (const event of history.events()) {
    const list = byStream.get(event.streamName) ?? [];
    list.push({ id: event.id, type: event.type, data: event.data, metadata: event.metadata });
    byStream.set(event.streamName, list);
  }
  const appendSizeMax = options.appendSizeMax ?? 1_000;
  const streams = [...byStream.entries()];
  let next = 0;
  let written = 0;
  const worker = async (): Promise<void> => {
    while (next < streams.length) {
      const [stream, events] = streams[next];
      next += 1;
      for (let offset = 0; offset < events.length; offset += appendSizeMax) {
        const part = events.slice(offset, offset + appendSizeMax);
        await store.appendToStream(stream, part, { expectedRevision: offset === 0 ? 'no_stream' : BigInt(offset - 1) });
        written += part.length;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, () => worker()));
  return written;
}

/**
 * Reads the store back through its port and checks it holds the history: the busiest user's
 * stream folds, with the real decider, to the state the simulation ended with; `$all` starts at
 * the first event and its head counts them all (PostgreSQL: positions are 1…n).
 */
export async function checkReadBack(store: EventStore, history: LedgerHistory, kind: 'postgres' | 'eventstoredb'): Promise<string> {
  const userId = history.busiestUserId();
  const expected = history.stateOf(userId);
  const recorded = await store.readStream(toStreamName(userId));
  const state = fold(userDecider, recorded);
  const problems: string[] = [];
  if (recorded.length !== expected.events) problems.push(`stream has ${recorded.length} events, expected ${expected.events}`);
  if (recorded.some((event, index) => event.revision !== BigInt(index))) problems.push('revisions are not 0…n-1');
  if (state.status !== 'registered' || expected.state.status !== 'registered') problems.push('the user is not registered');
  else {
    const summary = (s: typeof state) =>
      s.status !== 'registered'
        ? ''
        : JSON.stringify({
            wallet: s.wallet,
            verification: s.verification,
            highWater: s.accruedHighWater?.toString(),
            accruals: [...s.accruals.entries()].map(([id, a]) => [id, a.kills.toString(), a.claimed.toString()]),
            payouts: s.payouts.map((p) => [p.payoutId, p.status, p.kills.toString(), p.amountRaw.toString(), p.idempotencyKey]),
            flags: s.flags,
          });
    if (summary(state) !== summary(expected.state)) problems.push('the folded state differs from the simulated one');
  }
  const [firstEvent] = await store.readAll({ fromPosition: null, maxCount: 1 });
  const head = await store.headPosition();
  if (firstEvent === undefined || head === null) problems.push('$all is empty');
  else if (kind === 'postgres' && (firstEvent.position !== 1n || head !== BigInt(history.eventCount))) {
    problems.push(`$all runs from ${firstEvent.position} to ${String(head)}, expected 1 to ${history.eventCount}`);
  }
  if (problems.length > 0) throw new Error(`The generated event store does not read back as generated: ${problems.join('; ')}`);
  return `user ${userId}: ${recorded.length} events folded by the user decider to the simulated state; $all head ${String(head)}`;
}
