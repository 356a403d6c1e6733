import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `abuse_flags`: every flag raised, open until an admin clears it. */
export const abuseFlagsProjection = userStreamProjection('abuse_flags', ['abuse_flags'], async (transaction, event) => {
  if (event.type === 'AbuseFlagRaised') {
    await transaction.query(sql.unsafe`
      INSERT INTO abuse_flags (flag_id, user_id, flag_type, severity, detail, raised_at)
      VALUES (${event.data.flagId}, ${event.data.userId}, ${event.data.flagType}, ${event.data.severity},
              ${event.data.detail}, ${event.data.raisedAt}::timestamptz)
      ON CONFLICT (flag_id) DO NOTHING`);
  } else if (event.type === 'AbuseFlagCleared') {
    await transaction.query(sql.unsafe`UPDATE abuse_flags
      SET status = 'cleared', cleared_at = ${event.data.clearedAt}::timestamptz, clear_reason = ${event.data.reason}
      WHERE flag_id = ${event.data.flagId}`);
  }
});
