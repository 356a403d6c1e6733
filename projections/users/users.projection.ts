import { type DatabaseTransactionConnection, sql } from 'slonik';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { decodeUserEvent, type UserEvent } from '../../src/identity/user/user.events';
import { type Projection } from '../runtime/projection';

/** The `users` table: one row per registered user, keyed by the user id of the stream. */
export const usersProjection: Projection = {
  name: 'users',
  filter: { kind: 'category', categories: ['user'] },
  tables: ['users'],
  async apply(transaction, events) {
    for (const recorded of events) {
      const event = decodeUserEvent(recorded.type, recorded.data);
      if (event !== null) await applyUserEvent(transaction, recorded, event);
    }
  },
};

async function applyUserEvent(transaction: DatabaseTransactionConnection, recorded: RecordedEvent, event: UserEvent): Promise<void> {
  switch (event.type) {
    case 'UserRegistered':
      // The first event of the stream creates the row; a replay finds it and does nothing.
      await transaction.query(sql.unsafe`
        INSERT INTO users (user_id, discord_user_id, region_code, registered_at, stream_revision)
        VALUES (${event.data.userId}, ${event.data.discordUserId}, ${event.data.regionCode},
                ${event.data.registeredAt}::timestamptz, ${recorded.revision.toString()}::bigint)
        ON CONFLICT (user_id) DO NOTHING`);
      return;
    default: {
      const unreachable: never = event.type;
      throw new Error(`Unhandled user event ${String(unreachable)}`);
    }
  }
}
