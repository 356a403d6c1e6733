import { type DatabaseTransactionConnection, sql } from 'slonik';
import { type UserEvent } from '../../src/identity/user/user.events';
import { formatBan } from '../../src/platform/money';
import { type Projection } from '../runtime/projection';
import { decodeUserEvents, inRounds } from '../runtime/user-stream-projection';

/**
 * `reward_accruals`: one row per accrual, unique per (user, epoch minute), with how many of its
 * kills payouts claim and how many sent payouts settled. The claims are rows of `accrual_claims`
 * and the counts are recomputed from them, so applying an event twice changes nothing. A failed
 * payout keeps its claim rows; only a cancelled one loses them, which gives its kills back.
 *
 * A batch is written with a few statements, whatever its size:
 * 1. the accruals it records (ON CONFLICT: a replay inserts nothing);
 * 2. the claims its payout events make, send and release, round by round (a round holds at most
 *    one event per user, and a payout covers an accrual at most once, so no statement touches a
 *    claim twice; users' claims never interact);
 * 3. one recount of every accrual a payout event touched, from its claims as they now are.
 * Applying the events one at a time recounted an accrual after each of its claim changes; its
 * counts are a function of its claims, so only the last recount mattered, and that one saw the
 * claims as they are after the batch. So does this one, and it writes each accrual once. The
 * payout an accrual names is, likewise, what the last event touching it in the batch made it: the
 * payout it requested or sent, or after a cancellation, the payout it named before (in this batch
 * or the row), or if that was the cancelled one, one that still claims it.
 */

const ACCRUAL_TYPES = ['AccrualRecorded', 'PayoutRequested', 'PayoutSent', 'PayoutCancelled'] as const;

type PayoutEvent = UserEvent & { readonly type: 'PayoutRequested' | 'PayoutSent' | 'PayoutCancelled' };
type Covered = readonly [accrualId: string, payoutId: string, kills: number];

/** What the last payout event of the batch touching an accrual leaves it naming. */
interface Naming {
  readonly kind: 'claimed' | 'released';
  readonly payoutId: string;
  /** For a release: the payout the accrual named just before it, when an event of this batch set it. */
  readonly before: string | null;
}

export const accrualsProjection: Projection = {
  name: 'reward_accruals',
  filter: { kind: 'eventType', eventTypes: ACCRUAL_TYPES },
  tables: ['reward_accruals', 'accrual_claims'],
  async apply(transaction, events) {
    const recorded: Array<UserEvent & { readonly type: 'AccrualRecorded' }> = [];
    const payoutEvents: Array<{ readonly event: PayoutEvent; readonly streamName: string }> = [];
    for (const { event, recorded: record } of decodeUserEvents(events, ACCRUAL_TYPES)) {
      if (event.type === 'AccrualRecorded') recorded.push(event);
      else if (event.type === 'PayoutRequested' || event.type === 'PayoutSent' || event.type === 'PayoutCancelled') payoutEvents.push({ event, streamName: record.streamName });
    }
    // An accrual comes before every payout event that covers it in its user's stream, so it is
    // there before any of them in this batch (other users' accruals are not touched by them).
    if (recorded.length > 0) await insertAccruals(transaction, recorded);
    if (payoutEvents.length === 0) return;
    const naming = new Map<string, Naming>();
    for (const round of inRounds(payoutEvents, (item) => item.streamName)) {
      // A second release of one accrual in a batch (which no valid stream makes: a payout claiming
      // it must come between) would need what the first left it naming: recount up to here first.
      const releasedTwice = round.some(
        ({ event }) => event.type === 'PayoutCancelled' && event.data.accruals.some((accrual) => naming.get(accrual.accrualId)?.kind === 'released'),
      );
      if (releasedTwice) {
        await recount(transaction, naming);
        naming.clear();
      }
      const byType = (type: PayoutEvent['type']): Covered[] =>
        round.filter(({ event }) => event.type === type).flatMap(({ event }) => event.data.accruals.map((accrual): Covered => [accrual.accrualId, event.data.payoutId, accrual.kills]));
      await claim(transaction, byType('PayoutRequested'));
      await markSent(transaction, byType('PayoutSent'));
      await release(transaction, byType('PayoutCancelled'));
      for (const { event } of round) {
        for (const accrual of event.data.accruals) {
          const earlier = naming.get(accrual.accrualId);
          naming.set(
            accrual.accrualId,
            event.type === 'PayoutCancelled'
              ? { kind: 'released', payoutId: event.data.payoutId, before: earlier?.payoutId ?? null }
              : { kind: 'claimed', payoutId: event.data.payoutId, before: null },
          );
        }
      }
    }
    await recount(transaction, naming);
  },
};

async function insertAccruals(transaction: DatabaseTransactionConnection, accruals: ReadonlyArray<UserEvent & { readonly type: 'AccrualRecorded' }>): Promise<void> {
  await transaction.query(sql.unsafe`
    INSERT INTO reward_accruals (accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count,
      rate_per_kill_raw, base_rate_per_kill_raw, milestone_multiplier, sustainability_factor,
      amount_raw, amount_ban, recorded_at)
    SELECT v.accrual_id, v.user_id, v.epoch_minute, v.kills, v.from_kill_count, v.to_kill_count, v.rate_per_kill_raw,
           v.base_rate_per_kill_raw, v.milestone_multiplier, v.sustainability_factor, v.amount_raw, v.amount_ban, v.recorded_at
      FROM ${sql.unnest(
        accruals.map(({ data: accrual }) => [
          accrual.accrualId,
          accrual.userId,
          accrual.epochMinute,
          accrual.kills,
          accrual.fromKillCount,
          accrual.toKillCount,
          accrual.ratePerKillRaw,
          accrual.baseRatePerKillRaw,
          accrual.milestoneMultiplier,
          accrual.sustainabilityFactor,
          accrual.amountRaw,
          formatBan(BigInt(accrual.amountRaw)),
          accrual.recordedAt,
        ]),
        ['uuid', 'uuid', 'int8', 'int8', 'int8', 'int8', 'numeric', 'numeric', 'text', 'text', 'numeric', 'numeric', 'timestamptz'],
      )} AS v (accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count, rate_per_kill_raw, base_rate_per_kill_raw,
               milestone_multiplier, sustainability_factor, amount_raw, amount_ban, recorded_at)
    ON CONFLICT (accrual_id) DO NOTHING`);
}

async function claim(transaction: DatabaseTransactionConnection, covered: readonly Covered[]): Promise<void> {
  if (covered.length === 0) return;
  await transaction.query(sql.unsafe`
    INSERT INTO accrual_claims (accrual_id, payout_id, kills)
    SELECT v.accrual_id, v.payout_id, v.kills FROM ${sql.unnest(covered, ['uuid', 'uuid', 'int8'])} AS v (accrual_id, payout_id, kills)
    ON CONFLICT (accrual_id, payout_id) DO NOTHING`);
}

async function markSent(transaction: DatabaseTransactionConnection, covered: readonly Covered[]): Promise<void> {
  if (covered.length === 0) return;
  await transaction.query(sql.unsafe`
    UPDATE accrual_claims c SET sent = true
      FROM ${sql.unnest(covered, ['uuid', 'uuid', 'int8'])} AS v (accrual_id, payout_id, kills)
     WHERE c.accrual_id = v.accrual_id AND c.payout_id = v.payout_id`);
}

/**
 * Deleting this payout's row lowers the accrual's claimed kills by exactly what the row held, and
 * by nothing once it is gone, whatever other payouts hold of a split accrual.
 */
async function release(transaction: DatabaseTransactionConnection, covered: readonly Covered[]): Promise<void> {
  if (covered.length === 0) return;
  await transaction.query(sql.unsafe`
    DELETE FROM accrual_claims c
     USING ${sql.unnest(covered, ['uuid', 'uuid', 'int8'])} AS v (accrual_id, payout_id, kills)
     WHERE c.accrual_id = v.accrual_id AND c.payout_id = v.payout_id`);
}

/**
 * Claimed and settled kills of each accrual, recomputed from its claims, and the payout it names.
 * After a release that leaves it naming the released payout, it names one that still claims it:
 * the user stream lets only one unsent payout claim a user's kills at a time, and the released one
 * was it, so whatever claims remain were sent; any of them paid part of the accrual.
 */
async function recount(transaction: DatabaseTransactionConnection, naming: ReadonlyMap<string, Naming>): Promise<void> {
  if (naming.size === 0) return;
  await transaction.query(sql.unsafe`
    UPDATE reward_accruals a SET
      claimed_kills = c.claimed, settled_kills = c.settled, settled = (c.settled = a.kills),
      payout_id = CASE WHEN NOT v.released THEN v.payout_id
                       WHEN coalesce(v.before, a.payout_id) = v.payout_id
                       THEN (SELECT r.payout_id FROM accrual_claims r WHERE r.accrual_id = a.accrual_id ORDER BY r.sent DESC, r.payout_id LIMIT 1)
                       ELSE coalesce(v.before, a.payout_id) END
      FROM ${sql.unnest(
        [...naming].map(([accrualId, named]) => [accrualId, named.payoutId, named.kind === 'released', named.before]),
        ['uuid', 'uuid', 'bool', 'uuid'],
      )} AS v (accrual_id, payout_id, released, before)
      CROSS JOIN LATERAL (SELECT coalesce(sum(k.kills), 0) AS claimed, coalesce(sum(k.kills) FILTER (WHERE k.sent), 0) AS settled
                            FROM accrual_claims k WHERE k.accrual_id = v.accrual_id) c
     WHERE a.accrual_id = v.accrual_id`);
}
