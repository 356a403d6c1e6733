import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `verification_records`: the audit trail of every verification, keyed by the event's place. */
export const verificationsProjection = userStreamProjection('verification_records', ['verification_records'], {
  VerificationRecorded: async (transaction, events) => {
    await transaction.query(sql.unsafe`
      INSERT INTO verification_records (user_id, stream_revision, source, status, epic_account_id, detail, verified_at)
      SELECT v.user_id, v.stream_revision, v.source, v.status, v.epic_account_id, v.detail, v.verified_at
        FROM ${sql.unnest(
          events.map(({ event, recorded }) => [
            event.data.userId,
            recorded.revision.toString(),
            event.data.source,
            event.data.status,
            event.data.epicAccountId,
            event.data.detail,
            event.data.verifiedAt,
          ]),
          ['uuid', 'int8', 'text', 'text', 'text', 'text', 'timestamptz'],
        )} AS v (user_id, stream_revision, source, status, epic_account_id, detail, verified_at)
      ON CONFLICT (user_id, stream_revision) DO NOTHING`);
  },
});
