import { Client } from 'pg';
import { type NewEvent } from '../../src/platform/event-store/event-store.port';

export interface OpenTransaction {
  readonly client: Client;
  end(how: 'COMMIT' | 'ROLLBACK'): Promise<void>;
}

/** Opens a transaction on its own connection that stays open until `end` is called. */
export async function openTransaction(url: string): Promise<OpenTransaction> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  return {
    client,
    end: async (how) => {
      await client.query(how);
      await client.end();
    },
  };
}

/**
 * Appends one event to a new stream inside `transaction`, through the store's own function, and
 * leaves it uncommitted: an append in flight, holding its position, until the transaction ends.
 */
export async function appendInTransaction(transaction: OpenTransaction, stream: string, event: NewEvent): Promise<void> {
  await transaction.client.query("SELECT * FROM append_events($1, 'any', NULL, $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[])", [
    stream,
    [event.id],
    [event.type],
    [JSON.stringify(event.data)],
    [JSON.stringify(event.metadata)],
  ]);
}
