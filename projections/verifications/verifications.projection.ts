import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `verification_records`: the audit trail of every verification, keyed by the event's place. */
export const verificationsProjection = userStreamProjection('verification_records', ['verification_records'], async (transaction, event, recorded) => {
  if (event.type !== 'VerificationRecorded') return;
  await transaction.query(sql.unsafe`
    INSERT INTO verification_records (user_id, stream_revision, source, status, epic_account_id, detail, verified_at)
    VALUES (${event.data.userId}, ${recorded.revision.toString()}::bigint, ${event.data.source}, ${event.data.status},
            ${event.data.epicAccountId}, ${event.data.detail}, ${event.data.verifiedAt}::timestamptz)
    ON CONFLICT (user_id, stream_revision) DO NOTHING`);
});
