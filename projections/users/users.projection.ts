import { type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { type UserEvent } from '../../src/identity/user/user.events';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { type Projection } from '../runtime/projection';
import { decodeUserEvents } from '../runtime/user-stream-projection';

/**
 * The `users` table: one row per registered user. Every change is guarded by the stream revision
 * it comes from, so a replayed event (the additive accrual counters above all) changes nothing.
 *
 * A batch is written with three statements, whatever its size: the rows of the users it registers,
 * a read of the revision every user of the batch is at, and one UPDATE that moves each user once,
 * by the events that come after its revision, folded here in stream order. Nothing else writes
 * these rows meanwhile (a batch holds its projection's checkpoint row lock, projector.ts), and the
 * UPDATE still finds each row at the revision read, or the batch fails loudly and is retried.
 * That is exactly what applying the events one at a time, each guarded by its revision, did: an
 * event applied only when it came after the row's revision, and then moved the row to its own. One
 * update per user instead of one per event also writes one row version instead of several, which
 * matters because the accrued totals are indexed (the leaderboard, migrations/0014), so their
 * updates are never HOT.
 *
 * Kept by their own read models, not here: payouts, reward_accruals, wallet_links, abuse_flags. The
 * settled cursor only moves on PayoutSent, never on PayoutRequested (§4.4), and a cancelled payout
 * was never settled.
 */

/** The event types this read model applies; it reads no other. */
const USER_TYPES = ['UserRegistered', 'EpicAccountLinked', 'VerificationRecorded', 'KillsObserved', 'AccrualRecorded', 'PayoutSent'] as const;

interface Applied {
  readonly event: UserEvent;
  readonly revision: bigint;
}

/** What the events after a user's revision change in its row. */
interface Patch {
  readonly userId: string;
  /** The revision the row was read at: the update applies only if it still is. */
  readonly fromRevision: bigint;
  revision: bigint;
  epic: { readonly epicAccountId: string; readonly baselineKills: number; readonly linkedAt: string } | null;
  verification: { readonly status: string; readonly source: string; readonly verifiedAt: string } | null;
  observed: { readonly lifetimeKills: number; readonly observedAt: string } | null;
  accruedKills: number;
  accruedRaw: bigint;
  settledKills: number;
  settledRaw: bigint;
  lastSettlementAt: string | null;
}

const revisionRow = z.object({ user_id: z.string(), stream_revision: z.bigint() });

export const usersProjection: Projection = {
  name: 'users',
  filter: { kind: 'eventType', eventTypes: USER_TYPES },
  tables: ['users'],
  async apply(transaction, events) {
    const byUser = new Map<string, Applied[]>();
    const registered: Array<{ readonly event: UserEvent & { readonly type: 'UserRegistered' }; readonly recorded: RecordedEvent }> = [];
    for (const { event, recorded } of decodeUserEvents(events, USER_TYPES)) {
      // The first event of the stream creates the row; a replay finds it and does nothing.
      if (event.type === 'UserRegistered') registered.push({ event, recorded });
      else {
        const list = byUser.get(event.data.userId) ?? [];
        list.push({ event, revision: recorded.revision });
        byUser.set(event.data.userId, list);
      }
    }
    if (registered.length > 0) await insertRegistered(transaction, registered);
    if (byUser.size === 0) return;
    const revisions = await transaction.any(sql.type(revisionRow)`
      SELECT user_id, stream_revision FROM users WHERE user_id = ANY(${sql.array([...byUser.keys()], 'uuid')})`);
    const patches: Patch[] = [];
    for (const row of revisions) {
      const patch = fold(row.user_id, row.stream_revision, byUser.get(row.user_id) ?? []);
      if (patch !== null) patches.push(patch);
    }
    // A user with no row yet (no UserRegistered applied) is left alone, as its updates found nothing.
    if (patches.length > 0) await update(transaction, patches);
  },
};

async function insertRegistered(
  transaction: DatabaseTransactionConnection,
  registered: ReadonlyArray<{ readonly event: UserEvent & { readonly type: 'UserRegistered' }; readonly recorded: RecordedEvent }>,
): Promise<void> {
  await transaction.query(sql.unsafe`
    INSERT INTO users (user_id, discord_user_id, region_code, registered_at, stream_revision)
    SELECT v.user_id, v.discord_user_id, v.region_code, v.registered_at, v.stream_revision
      FROM ${sql.unnest(
        registered.map(({ event, recorded }) => [event.data.userId, event.data.discordUserId, event.data.regionCode, event.data.registeredAt, recorded.revision.toString()]),
        ['uuid', 'text', 'text', 'timestamptz', 'int8'],
      )} AS v (user_id, discord_user_id, region_code, registered_at, stream_revision)
    ON CONFLICT (user_id) DO NOTHING`);
}

/**
 * The user's events of the batch, in stream order, applied to a row at `revision` as the per-event
 * statements did: each only if it comes after the revision reached so far. Null when none does.
 */
function fold(userId: string, revision: bigint, events: readonly Applied[]): Patch | null {
  const patch: Patch = {
    userId,
    fromRevision: revision,
    revision,
    epic: null,
    verification: null,
    observed: null,
    accruedKills: 0,
    accruedRaw: 0n,
    settledKills: 0,
    settledRaw: 0n,
    lastSettlementAt: null,
  };
  for (const { event, revision: eventRevision } of events) {
    if (eventRevision <= patch.revision) continue;
    patch.revision = eventRevision;
    switch (event.type) {
      case 'EpicAccountLinked':
        patch.epic = { epicAccountId: event.data.epicAccountId, baselineKills: event.data.baselineKills, linkedAt: event.data.linkedAt };
        break;
      case 'VerificationRecorded':
        patch.verification = { status: event.data.status, source: event.data.source, verifiedAt: event.data.verifiedAt };
        break;
      case 'KillsObserved':
        patch.observed = { lifetimeKills: event.data.lifetimeKills, observedAt: event.data.observedAt };
        break;
      case 'AccrualRecorded':
        patch.accruedKills += event.data.kills;
        patch.accruedRaw += BigInt(event.data.amountRaw);
        break;
      case 'PayoutSent':
        // The settled cursor moves only when a payout is sent, never when it is requested (§4.4).
        patch.settledKills += event.data.kills;
        patch.settledRaw += BigInt(event.data.amountRaw);
        patch.lastSettlementAt = event.data.sentAt;
        break;
      case 'UserRegistered':
        // Never folded: apply inserts its row (insertRegistered) and keeps it out of the patches.
        break;
      case 'WalletLinked':
      case 'WalletVerified':
      case 'AbuseFlagRaised':
      case 'AbuseFlagCleared':
      case 'PayoutRequested':
      case 'PayoutAttemptFailed':
      case 'PayoutFailed':
      case 'PayoutRetryRequested':
      case 'PayoutCancelled':
        throw new Error(`The users read model does not read ${event.type}`);
      default: {
        const unreachable: never = event;
        throw new Error(`Unhandled user event ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return patch.revision === revision ? null : patch;
}

/**
 * One UPDATE for every patch. A field no event of the batch set keeps its value (an unchanged
 * indexed value keeps the update HOT-eligible); the totals add what the batch accrued and settled.
 */
async function update(transaction: DatabaseTransactionConnection, patches: readonly Patch[]): Promise<void> {
  const updated = await transaction.query(sql.unsafe`
    UPDATE users u SET
      epic_account_id = CASE WHEN v.epic_set THEN v.epic_account_id ELSE u.epic_account_id END,
      baseline_kills = CASE WHEN v.epic_set THEN v.baseline_kills ELSE u.baseline_kills END,
      epic_linked_at = CASE WHEN v.epic_set THEN v.epic_linked_at ELSE u.epic_linked_at END,
      verification_status = CASE WHEN v.verification_set THEN v.verification_status ELSE u.verification_status END,
      verification_source = CASE WHEN v.verification_set THEN v.verification_source ELSE u.verification_source END,
      last_verified_at = CASE WHEN v.verification_set THEN v.last_verified_at ELSE u.last_verified_at END,
      last_observed_kill_count = CASE WHEN v.observed_set THEN v.last_observed_kill_count ELSE u.last_observed_kill_count END,
      last_observed_at = CASE WHEN v.observed_set THEN v.last_observed_at ELSE u.last_observed_at END,
      accrued_kill_count = u.accrued_kill_count + v.accrued_kills,
      accrued_raw = u.accrued_raw + v.accrued_raw,
      last_settled_kill_count = u.last_settled_kill_count + v.settled_kills,
      settled_raw = u.settled_raw + v.settled_raw,
      last_settlement_at = CASE WHEN v.settled_set THEN v.last_settlement_at ELSE u.last_settlement_at END,
      stream_revision = v.revision
      FROM ${sql.unnest(
        patches.map((patch) => [
          patch.userId,
          patch.fromRevision.toString(),
          patch.revision.toString(),
          patch.epic !== null,
          patch.epic?.epicAccountId ?? null,
          patch.epic?.baselineKills ?? null,
          patch.epic?.linkedAt ?? null,
          patch.verification !== null,
          patch.verification?.status ?? null,
          patch.verification?.source ?? null,
          patch.verification?.verifiedAt ?? null,
          patch.observed !== null,
          patch.observed?.lifetimeKills ?? null,
          patch.observed?.observedAt ?? null,
          patch.accruedKills,
          patch.accruedRaw.toString(),
          patch.settledKills,
          patch.settledRaw.toString(),
          patch.lastSettlementAt !== null,
          patch.lastSettlementAt,
        ]),
        [
          'uuid', 'int8', 'int8',
          'bool', 'text', 'int8', 'timestamptz',
          'bool', 'text', 'text', 'timestamptz',
          'bool', 'int8', 'timestamptz',
          'int8', 'numeric', 'int8', 'numeric',
          'bool', 'timestamptz',
        ],
      )} AS v (user_id, from_revision, revision,
               epic_set, epic_account_id, baseline_kills, epic_linked_at,
               verification_set, verification_status, verification_source, last_verified_at,
               observed_set, last_observed_kill_count, last_observed_at,
               accrued_kills, accrued_raw, settled_kills, settled_raw,
               settled_set, last_settlement_at)
     WHERE u.user_id = v.user_id AND u.stream_revision = v.from_revision`);
  if (updated.rowCount !== patches.length) {
    throw new Error(`users changed under the batch: ${patches.length - updated.rowCount} of ${patches.length} rows were no longer at the revision read`);
  }
}
