import { sql } from 'slonik';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `wallet_links`: every address a user linked; the latest is the only primary. */
export const walletsProjection = userStreamProjection('wallet_links', ['wallet_links'], async (transaction, event) => {
  if (event.type === 'WalletLinked') {
    await transaction.query(sql.unsafe`UPDATE wallet_links SET is_primary = false
      WHERE user_id = ${event.data.userId} AND is_primary AND address <> ${event.data.address}`);
    await transaction.query(sql.unsafe`
      INSERT INTO wallet_links (user_id, address, is_primary, verified, linked_at)
      VALUES (${event.data.userId}, ${event.data.address}, true, false, ${event.data.linkedAt}::timestamptz)
      ON CONFLICT (user_id, address) DO UPDATE
        SET is_primary = true, verified = false, verified_at = NULL, linked_at = EXCLUDED.linked_at`);
  } else if (event.type === 'WalletVerified') {
    await transaction.query(sql.unsafe`UPDATE wallet_links SET verified = true, verified_at = ${event.data.verifiedAt}::timestamptz
      WHERE user_id = ${event.data.userId} AND address = ${event.data.address}`);
  }
});
