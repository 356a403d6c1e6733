import { type CommonQueryMethods, type DatabasePool, type DatabasePoolConnection, sql } from 'slonik';
import { z } from 'zod';
import { withAdvisoryLockWithin } from '../platform/database/advisory-lock';
import { DomainError } from '../platform/errors/domain-error';
import { type EventStore } from '../platform/event-store/event-store.port';
import { loadUser } from './user/run-user-command';

/** The first integer of a user's link lock; the second comes from the user id (advisory-lock.ts). */
const EPIC_LINK_LOCK_CLASS = 7360;
/** How long a link waits for another link of the same user: each makes a few calls with timeouts of seconds. */
const EPIC_LINK_WAIT_MS = 30_000;

/**
 * Runs one link of a user's Epic account (PUT epic-account, a verification, a re-verification)
 * while no other link of that user runs, in any instance. A link reads the user, claims the id,
 * appends, then frees the user's other claims; two links of one user interleaved could each free
 * the claim behind the other's link, leaving a linked id unclaimed for a second user to link too,
 * or decide a baseline from a link the other had just replaced. 409 `concurrency_conflict` when
 * the other link holds on longer than EPIC_LINK_WAIT_MS. `work` gets the connection that holds the
 * lock and makes its claims through it: one that took a second connection from the pool could wait
 * for ever once every connection was held by a link waiting for a second one.
 */
export async function withEpicLinkLock<T>(pool: DatabasePool, userId: string, work: (connection: DatabasePoolConnection) => Promise<T>): Promise<T> {
  // Users whose ids share their first 32 bits only wait for each other.
  const key = [EPIC_LINK_LOCK_CLASS, Number.parseInt(userId.slice(0, 8), 16) | 0] as const;
  const done = await withAdvisoryLockWithin(pool, key, EPIC_LINK_WAIT_MS, async (connection) => ({ value: await work(connection) }));
  if (done === null) throw new DomainError('concurrency_conflict', 'Another link of this user\'s Epic account is in progress; try again', 409);
  return done.value;
}

/**
 * How old a claim must be before another user may take it over, when its holder's stream does not
 * link the id. A link claims first and appends within seconds (every call it makes in between has a
 * timeout), so a claim this old that no link backs was left by one that never finished: the process
 * was killed between the claim and the append, or between a new link's append and the release of
 * the old claim. Without a takeover such an id would be refused to everyone else for good.
 */
export const STALE_CLAIM_AGE = '10 minutes';
/** A claim deleted or taken over while we looked at it is looked at again, this many times at most. */
const CLAIM_TRIES_MAX = 3;

/**
 * `claimed`: this call made the claim (new, or taken over from a stale one), so a failed link
 * releases it. `held`: the user held it already (its link, or its own earlier attempt); the claim
 * is refreshed and kept whatever happens next. `taken`: another user holds it.
 */
export type EpicAccountClaim = 'claimed' | 'held' | 'taken';

/** A claim's holder, as the statements below read it back. */
const claimRow = z.object({ user_id: z.string() });

/**
 * Claims an Epic account id for a user in the write-side guard table, and tells whether another
 * user holds it. A claim held by another user is taken over only when it is older than
 * STALE_CLAIM_AGE and that user's stream does not link the id.
 *
 * Why the takeover cannot let two users link the id: every link claims (or refreshes its claim)
 * before it appends, and the takeover is one UPDATE that only matches a claim still stale and still
 * the holder's. So either the holder refreshed first, and the takeover matches nothing, or the
 * takeover came first, and the holder's refresh matches nothing: it reads `taken` and appends no link.
 */
export async function claimEpicAccount(connection: CommonQueryMethods, store: EventStore, epicAccountId: string, userId: string): Promise<EpicAccountClaim> {
  for (let tries = 1; tries <= CLAIM_TRIES_MAX; tries += 1) {
    const inserted = await connection.maybeOne(sql.type(claimRow)`
      INSERT INTO epic_account_claims (epic_account_id, user_id) VALUES (${epicAccountId}, ${userId})
      ON CONFLICT (epic_account_id) DO NOTHING RETURNING user_id`);
    if (inserted !== null) return 'claimed';
    const refreshed = await connection.maybeOne(sql.type(claimRow)`
      UPDATE epic_account_claims SET claimed_at = now()
      WHERE epic_account_id = ${epicAccountId} AND user_id = ${userId} RETURNING user_id`);
    if (refreshed !== null) return 'held';
    const holder = await connection.maybeOne(sql.type(claimRow.extend({ stale: z.boolean() }))`
      SELECT user_id, claimed_at < now() - ${STALE_CLAIM_AGE}::interval AS stale
      FROM epic_account_claims WHERE epic_account_id = ${epicAccountId}`);
    if (holder === null) continue;
    if (!holder.stale || (await linksEpicAccount(store, holder.user_id, epicAccountId))) return 'taken';
    const takenOver = await connection.maybeOne(sql.type(claimRow)`
      UPDATE epic_account_claims SET user_id = ${userId}, claimed_at = now()
      WHERE epic_account_id = ${epicAccountId} AND user_id = ${holder.user_id}
        AND claimed_at < now() - ${STALE_CLAIM_AGE}::interval
      RETURNING user_id`);
    if (takenOver !== null) return 'claimed';
  }
  return 'taken';
}

async function linksEpicAccount(store: EventStore, userId: string, epicAccountId: string): Promise<boolean> {
  const holder = await loadUser(store, userId);
  return holder.status === 'registered' && holder.epic?.epicAccountId === epicAccountId;
}

/** Frees the user's other claims once its link to `epicAccountId` is recorded. */
export async function releaseOtherClaims(connection: CommonQueryMethods, userId: string, epicAccountId: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id <> ${epicAccountId}`);
}

/** Frees one claim of the user, after an attempt to link that id failed. */
export async function releaseClaim(connection: CommonQueryMethods, userId: string, epicAccountId: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id = ${epicAccountId}`);
}
