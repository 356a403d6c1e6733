import { type DatabasePool, sql } from 'slonik';
import { type Projection } from '../../projections';
import { type EventStore } from '../../src/platform/event-store/event-store.port';

/**
 * Whether another session of this database (not the event store's, nor this pool's own) holds a
 * transaction that has written something, or locked a row: a projector's batch in flight. For
 * `eventually`, so undefined while there is none.
 */
export async function projectionBatchInFlight(pool: DatabasePool): Promise<true | undefined> {
  const writers = await pool.oneFirst(sql.unsafe`
    SELECT count(*)::int FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
       AND application_name <> 'ledger-event-store'`);
  return Number(writers) > 0 ? true : undefined;
}

/** How many events of `projection` the store holds up to `position` (none before a first batch). */
export async function projectionEventsUpTo(store: EventStore, projection: Projection, position: bigint | null): Promise<bigint> {
  let count = 0n;
  let from: bigint | null = null;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: 5_000, filter: projection.filter });
    for (const event of page) if (position !== null && event.position <= position) count += 1n;
    if (page.length < 5_000) return count;
    from = page[page.length - 1].position;
  }
}
