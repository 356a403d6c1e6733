import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';
import { NotFoundError } from '../platform/errors/domain-error';

const ownerRow = z.object({ user_id: z.string() });

/**
 * The user whose stream holds a payout. The read model only says which stream to open; the user
 * stream decides. A payout the read model has not caught up with yet is not found until it has.
 */
export async function payoutOwner(connection: CommonQueryMethods, payoutId: string): Promise<string> {
  const userId = await connection.maybeOneFirst(sql.type(ownerRow)`SELECT user_id FROM payouts WHERE payout_id = ${payoutId}`);
  if (userId === null) throw new NotFoundError('payout_not_found', `No payout ${payoutId}`);
  return userId;
}
