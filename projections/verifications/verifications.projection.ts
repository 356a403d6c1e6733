import { sql } from 'slonik';
import { decodeUserEvent } from '../../src/identity/user/user.events';
import { type Projection } from '../runtime/projection';

/** `verification_records`: the audit trail of every verification, keyed by the event's place. */
export const verificationsProjection: Projection = {
  name: 'verification_records',
  filter: { kind: 'category', categories: ['user'] },
  tables: ['verification_records'],
  async apply(transaction, events) {
    for (const recorded of events) {
      const event = decodeUserEvent(recorded.type, recorded.data);
      if (event?.type !== 'VerificationRecorded') continue;
      await transaction.query(sql.unsafe`
        INSERT INTO verification_records (user_id, stream_revision, source, status, epic_account_id, detail, verified_at)
        VALUES (${event.data.userId}, ${recorded.revision.toString()}::bigint, ${event.data.source}, ${event.data.status},
                ${event.data.epicAccountId}, ${event.data.detail}, ${event.data.verifiedAt}::timestamptz)
        ON CONFLICT (user_id, stream_revision) DO NOTHING`);
    }
  },
};
