import { type DatabaseTransactionConnection } from 'slonik';
import { decodeUserEvent, type UserEvent } from '../../src/identity/user/user.events';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { type Projection } from './projection';

/**
 * A read model of the `user-<userId>` streams: it reads only that category, decodes each event
 * (skipping types it does not know) and hands it, with its record, to `applyEvent`.
 */
export function userStreamProjection(
  name: string,
  tables: readonly string[],
  applyEvent: (transaction: DatabaseTransactionConnection, event: UserEvent, recorded: RecordedEvent) => Promise<void>,
): Projection {
  return {
    name,
    filter: { kind: 'category', categories: ['user'] },
    tables,
    async apply(transaction, events) {
      for (const recorded of events) {
        const event = decodeUserEvent(recorded.type, recorded.data);
        if (event !== null) await applyEvent(transaction, event, recorded);
      }
    },
  };
}
