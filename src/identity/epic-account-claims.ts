import { type CommonQueryMethods, type DatabasePool, type DatabasePoolConnection, type FragmentSqlToken, sql } from 'slonik';
import { z } from 'zod';
import { withAdvisoryLockWithin } from '../platform/database/advisory-lock';
import { DomainError } from '../platform/errors/domain-error';
import { type EventStore } from '../platform/event-store/event-store.port';
import { loadUser } from './user/run-user-command';
import { type EpicAccountMark } from './user/user.decider';

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
    if (!holder.stale) return 'taken';
    const holderState = await loadUser(store, holder.user_id);
    if (holderState.status === 'registered' && holderState.epic?.epicAccountId === epicAccountId) return 'taken';
    // The holder linked another account but was stopped before it freed this claim, and so before
    // it left its mark of this account: it is left here, before the claim can change hands.
    const heldTo = holderState.status === 'registered' ? holderState.formerHighWater.get(epicAccountId) : undefined;
    if (heldTo !== undefined) await leaveMarks(connection, holder.user_id, [[epicAccountId, heldTo]]);
    const takenOver = await connection.maybeOne(sql.type(claimRow)`
      UPDATE epic_account_claims SET user_id = ${userId}, claimed_at = now()
      WHERE epic_account_id = ${epicAccountId} AND user_id = ${holder.user_id}
        AND claimed_at < now() - ${STALE_CLAIM_AGE}::interval
      RETURNING user_id`);
    if (takenOver !== null) return 'claimed';
  }
  return 'taken';
}

const markRow = z.object({ user_id: z.string(), kill_count: z.bigint() });

/**
 * The mark a former holder left of an Epic account (migrations/0026), or null when none did since
 * marks are kept. Read once the account is claimed, so no other user can leave one meanwhile.
 */
export async function markOfEpicAccount(connection: CommonQueryMethods, epicAccountId: string): Promise<EpicAccountMark | null> {
  const row = await connection.maybeOne(sql.type(markRow)`SELECT user_id, kill_count FROM epic_account_marks WHERE epic_account_id = ${epicAccountId}`);
  return row === null ? null : { userId: row.user_id, killCount: row.kill_count };
}

/** Marks as a table of (epic_account_id, kill_count) for a statement's FROM. */
function marksTable(marks: ReadonlyArray<readonly [string, bigint]>): FragmentSqlToken {
  return sql.fragment`unnest(${sql.array(marks.map(([id]) => id), 'text')}::text[], ${sql.array(marks.map(([, count]) => count.toString()), 'text')}::text[])
    AS mark (epic_account_id, kill_count)`;
}

/** A mark recorded already keeps the higher count: a lifetime count never falls. */
const KEEP_HIGHER_MARK = sql.fragment`
  ON CONFLICT (epic_account_id) DO UPDATE SET kill_count = EXCLUDED.kill_count, user_id = EXCLUDED.user_id, recorded_at = now()
    WHERE epic_account_marks.kill_count < EXCLUDED.kill_count`;

/** Records marks a user left. */
async function leaveMarks(connection: CommonQueryMethods, userId: string, marks: ReadonlyArray<readonly [string, bigint]>): Promise<void> {
  await connection.query(sql.unsafe`
    INSERT INTO epic_account_marks (epic_account_id, kill_count, user_id)
    SELECT mark.epic_account_id, mark.kill_count::bigint, ${userId} FROM ${marksTable(marks)}
    ${KEEP_HIGHER_MARK}`);
}

/**
 * Frees the user's other claims once its link to `epicAccountId` is recorded, and leaves in the
 * same statement the mark of each account it frees: `formerHighWater`, the user's fold's counts up
 * to which it accrued each account it linked before. One statement, so no other user can claim a
 * freed account before its mark is there.
 */
export async function releaseOtherClaims(
  connection: CommonQueryMethods,
  userId: string,
  epicAccountId: string,
  formerHighWater: ReadonlyMap<string, bigint>,
): Promise<void> {
  await connection.query(sql.unsafe`
    WITH released AS (
      DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id <> ${epicAccountId} RETURNING epic_account_id
    )
    INSERT INTO epic_account_marks (epic_account_id, kill_count, user_id)
    SELECT released.epic_account_id, mark.kill_count::bigint, ${userId}
      FROM released JOIN ${marksTable([...formerHighWater])} USING (epic_account_id)
    ${KEEP_HIGHER_MARK}`);
}

/** Frees one claim of the user, after an attempt to link that id failed. */
export async function releaseClaim(connection: CommonQueryMethods, userId: string, epicAccountId: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM epic_account_claims WHERE user_id = ${userId} AND epic_account_id = ${epicAccountId}`);
}
