import { Client } from 'pg';
import { EventStoreDbEventStore } from '../../src/platform/event-store/eventstoredb-event-store';
import { type EventStoreKind } from '../types';

/**
 * Counts the events durably stored after a mark: read back from the store itself, not inferred
 * from requests answered. PostgreSQL: rows of `events` above the mark's position (the primary key
 * bounds the scan to the new rows). EventStoreDB: the non-system events of `$all` read forwards
 * from the mark.
 */
export interface EventCounter {
  /** The current head, to count from. */
  mark(): Promise<bigint | null>;
  /** Events stored after `mark`. */
  countSince(mark: bigint | null): Promise<number>;
  close(): Promise<void>;
}

/** Pages read while counting EventStoreDB events. */
const ESDB_PAGE_SIZE = 1_000;

export async function openEventCounter(kind: EventStoreKind, target: { databaseUrl: string; table?: string; eventStoreConnectionString?: string }): Promise<EventCounter> {
  if (kind === 'postgres') return openPostgresCounter(target.databaseUrl, target.table ?? 'events');
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
  return {
    async mark() {
      const { rows } = await client.query<{ position: string | null }>(`SELECT max(global_position)::text AS position FROM ${name}`);
      return rows[0].position === null ? null : BigInt(rows[0].position);
    },
    async countSince(mark) {
      const { rows } = await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${name} WHERE global_position > $1`, [
        (mark ?? 0n).toString(),
      ]);
      return Number(rows[0].count);
    },
    close: () => client.end(),
  };
}
