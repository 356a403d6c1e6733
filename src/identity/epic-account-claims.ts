import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';

/**
 * Claims an Epic account id for a user in the write-side guard table, and tells whether another
 * user holds it. Claiming twice for the same user is harmless.
 */
export async function claimEpicAccount(connection: CommonQueryMethods, epicAccountId: string, userId: string): Promise<'claimed' | 'taken'> {
  await connection.query(sql.unsafe`INSERT INTO epic_account_claims (epic_account_id, user_id)
    VALUES (${epicAccountId}, ${userId}) ON CONFLICT (epic_account_id) DO NOTHING`);
  const holder = await connection.oneFirst(
    sql.type(z.object({ user_id: z.string() }))`SELECT user_id FROM epic_account_claims WHERE epic_account_id = ${epicAccountId}`,
  );
  return holder === userId ? 'claimed' : 'taken';
}

/** Frees the user's other claims once its link to `epicAccountId` is recorded. */
export async function releaseOtherClaims(connection: CommonQueryMethods, userId: string, epicAccountId: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id <> ${epicAccountId}`);
}

/** Frees one claim of the user, after an attempt to link that id failed. */
export async function releaseClaim(connection: CommonQueryMethods, userId: string, epicAccountId: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id = ${epicAccountId}`);
}
