import { Client } from 'pg';
import { EventStoreDbEventStore } from '../../src/platform/event-store/eventstoredb-event-store';
import { type EventStoreKind } from '../types';

/**
 * Counts the events durably stored after a mark: read back from the store itself, not inferred
 * from requests answered. PostgreSQL: rows above the mark's position (the primary key bounds the
 * scan to the new rows); on the event store's own `events` table, counted on from the last count,
 * as a subscriber reads `$all`. EventStoreDB: the non-system events of `$all` read forwards from
 * the mark.
 */
export interface EventCounter {
  /** The current head, to count from. */
  mark(): Promise<bigint | null>;
  /** Events stored after `mark`. */
  countSince(mark: bigint | null): Promise<number>;
  close(): Promise<void>;
}

/** The PostgreSQL event store's table (migrations/0001_create_event_store.sql). */
const EVENT_STORE_TABLE = 'events';

/** Pages read while counting EventStoreDB events. */
const ESDB_PAGE_SIZE = 1_000;

export async function openEventCounter(kind: EventStoreKind, target: { databaseUrl: string; table?: string; eventStoreConnectionString?: string }): Promise<EventCounter> {
  if (kind === 'postgres') return openPostgresCounter(target.databaseUrl, target.table ?? EVENT_STORE_TABLE);
  if (target.eventStoreConnectionString === undefined) throw new Error('counting EventStoreDB events needs its connection string');
  const store = new EventStoreDbEventStore(target.eventStoreConnectionString);
  return {
    mark: () => store.headPosition(),
    async countSince(mark) {
      let count = 0;
      let from = mark;
      for (;;) {
        const page = await store.readAll({ fromPosition: from, maxCount: ESDB_PAGE_SIZE });
        count += page.length;
        if (page.length < ESDB_PAGE_SIZE) return count;
        from = page[page.length - 1].position;
      }
    },
    close: () => store.close(),
  };
}

async function openPostgresCounter(databaseUrl: string, table: string): Promise<EventCounter> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'ledger-bench-counter' });
  // A connection ended by the server (its database dropped after a failure or Ctrl-C) must not
  // crash the runner; the next count reports it.
  client.on('error', () => undefined);
  await client.connect();
  const name = client.escapeIdentifier(table);
  const mark = async (): Promise<bigint | null> => {
    const { rows } = await client.query<{ position: string | null }>(`SELECT max(global_position)::text AS position FROM ${name}`);
    return rows[0].position === null ? null : BigInt(rows[0].position);
  };
  if (table !== EVENT_STORE_TABLE) {
    return {
      mark,
      async countSince(from) {
        const { rows } = await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${name} WHERE global_position > $1`, [
          (from ?? 0n).toString(),
        ]);
        return Number(rows[0].count);
      },
      close: () => client.end(),
    };
  }
  // Counting every event since the mark each time cost a scan that grew with the store: in a
  // ten-minute P5 the last two counts took 16 and 17 s each, on the machine whose ingestion P5
  // reports. The count goes on from where the last one stopped instead, below the store's read
  // horizon (migrations/0001_create_event_store.sql, rule 3: fixed first, then read with a later
  // snapshot), so an append still in flight below a counted position cannot be passed over.
  let counted: { from: bigint | null; position: bigint; events: number } | null = null;
  return {
    mark,
    async countSince(from) {
      if (counted === null || counted.from !== from) counted = { from, position: from ?? 0n, events: 0 };
      const { rows: horizon } = await client.query<{ horizon: string }>('SELECT events_read_horizon()::text AS horizon');
      const { rows } = await client.query<{ count: string; position: string | null }>(
        `SELECT count(*)::text AS count, max(global_position)::text AS position FROM events
          WHERE global_position > $1 AND transaction_id < $2::xid8`,
        [counted.position.toString(), horizon[0].horizon],
      );
      if (rows[0].position !== null) counted = { from, position: BigInt(rows[0].position), events: counted.events + Number(rows[0].count) };
      return counted.events;
    },
    close: () => client.end(),
  };
}
