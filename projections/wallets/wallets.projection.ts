import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/**
 * `wallet_links`: every address a user linked; the latest is the only primary. Each handler writes
 * the events of a round (at most one per user) with set-based statements.
 */
export const walletsProjection = userStreamProjection('wallet_links', ['wallet_links'], {
  WalletLinked: async (transaction, events) => {
    const rows = events.map(({ event }) => [event.data.userId, event.data.address, event.data.linkedAt]);
    // The old primary steps down first, so the one-primary index never sees two.
    await transaction.query(sql.unsafe`
      UPDATE wallet_links w SET is_primary = false
        FROM ${sql.unnest(rows, ['uuid', 'text', 'timestamptz'])} AS v (user_id, address, linked_at)
       WHERE w.user_id = v.user_id AND w.is_primary AND w.address <> v.address`);
    await transaction.query(sql.unsafe`
      INSERT INTO wallet_links (user_id, address, is_primary, verified, linked_at)
      SELECT v.user_id, v.address, true, false, v.linked_at
        FROM ${sql.unnest(rows, ['uuid', 'text', 'timestamptz'])} AS v (user_id, address, linked_at)
      ON CONFLICT (user_id, address) DO UPDATE
        SET is_primary = true, verified = false, verified_at = NULL, linked_at = EXCLUDED.linked_at`);
  },
  WalletVerified: async (transaction, events) => {
    await transaction.query(sql.unsafe`
      UPDATE wallet_links w SET verified = true, verified_at = v.verified_at
        FROM ${sql.unnest(
          events.map(({ event }) => [event.data.userId, event.data.address, event.data.verifiedAt]),
          ['uuid', 'text', 'timestamptz'],
        )} AS v (user_id, address, verified_at)
       WHERE w.user_id = v.user_id AND w.address = v.address`);
  },
});
