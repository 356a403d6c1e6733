import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `abuse_flags`: every flag raised, open until an admin clears it. */
export const abuseFlagsProjection = userStreamProjection('abuse_flags', ['abuse_flags'], {
  AbuseFlagRaised: async (transaction, events) => {
    await transaction.query(sql.unsafe`
      INSERT INTO abuse_flags (flag_id, user_id, flag_type, severity, detail, raised_at)
      SELECT v.flag_id, v.user_id, v.flag_type, v.severity, v.detail, v.raised_at
        FROM ${sql.unnest(
          events.map(({ event }) => [event.data.flagId, event.data.userId, event.data.flagType, event.data.severity, event.data.detail, event.data.raisedAt]),
          ['uuid', 'uuid', 'text', 'text', 'text', 'timestamptz'],
        )} AS v (flag_id, user_id, flag_type, severity, detail, raised_at)
      ON CONFLICT (flag_id) DO NOTHING`);
  },
  AbuseFlagCleared: async (transaction, events) => {
    await transaction.query(sql.unsafe`
      UPDATE abuse_flags f SET status = 'cleared', cleared_at = v.cleared_at, clear_reason = v.reason
        FROM ${sql.unnest(
          events.map(({ event }) => [event.data.flagId, event.data.clearedAt, event.data.reason]),
          ['uuid', 'timestamptz', 'text'],
        )} AS v (flag_id, cleared_at, reason)
       WHERE f.flag_id = v.flag_id`);
  },
});
