import { sql } from 'slonik';
import { decodeUserEvent } from '../../src/identity/user/user.events';
import { type Projection } from '../runtime/projection';

/** `wallet_links`: every address a user linked; the latest is the only primary. */
export const walletsProjection: Projection = {
  name: 'wallet_links',
  filter: { kind: 'category', categories: ['user'] },
  tables: ['wallet_links'],
  async apply(transaction, events) {
    for (const recorded of events) {
      const event = decodeUserEvent(recorded.type, recorded.data);
      if (event?.type === 'WalletLinked') {
        await transaction.query(sql.unsafe`UPDATE wallet_links SET is_primary = false
          WHERE user_id = ${event.data.userId} AND is_primary AND address <> ${event.data.address}`);
        await transaction.query(sql.unsafe`
          INSERT INTO wallet_links (user_id, address, is_primary, verified, linked_at)
          VALUES (${event.data.userId}, ${event.data.address}, true, false, ${event.data.linkedAt}::timestamptz)
          ON CONFLICT (user_id, address) DO UPDATE
            SET is_primary = true, verified = false, verified_at = NULL, linked_at = EXCLUDED.linked_at`);
      } else if (event?.type === 'WalletVerified') {
        await transaction.query(sql.unsafe`UPDATE wallet_links SET verified = true, verified_at = ${event.data.verifiedAt}::timestamptz
          WHERE user_id = ${event.data.userId} AND address = ${event.data.address}`);
      }
    }
  },
};
