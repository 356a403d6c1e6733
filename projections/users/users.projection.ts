import { type DatabaseTransactionConnection, sql } from 'slonik';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { type UserEvent } from '../../src/identity/user/user.events';
import { userStreamProjection } from '../runtime/user-stream-projection';

/**
 * The `users` table: one row per registered user. Every update is guarded by the stream revision
 * it comes from, so a replayed event (the additive accrual counters above all) changes nothing.
 */
export const usersProjection = userStreamProjection('users', ['users'], applyUserEvent);

async function applyUserEvent(transaction: DatabaseTransactionConnection, event: UserEvent, recorded: RecordedEvent): Promise<void> {
  const revision = recorded.revision.toString();
  const update = async (assignments: ReturnType<typeof sql.fragment>): Promise<void> => {
    await transaction.query(sql.unsafe`
      UPDATE users SET ${assignments}, stream_revision = ${revision}::bigint
       WHERE user_id = ${event.data.userId} AND stream_revision < ${revision}::bigint`);
  };
  switch (event.type) {
    case 'UserRegistered':
      // The first event of the stream creates the row; a replay finds it and does nothing.
      await transaction.query(sql.unsafe`
        INSERT INTO users (user_id, discord_user_id, region_code, registered_at, stream_revision)
        VALUES (${event.data.userId}, ${event.data.discordUserId}, ${event.data.regionCode},
                ${event.data.registeredAt}::timestamptz, ${revision}::bigint)
        ON CONFLICT (user_id) DO NOTHING`);
      return;
    case 'EpicAccountLinked':
      await update(sql.fragment`epic_account_id = ${event.data.epicAccountId}, baseline_kills = ${event.data.baselineKills},
        epic_linked_at = ${event.data.linkedAt}::timestamptz`);
      return;
    case 'VerificationRecorded':
      await update(sql.fragment`verification_status = ${event.data.status}, verification_source = ${event.data.source},
        last_verified_at = ${event.data.verifiedAt}::timestamptz`);
      return;
    case 'KillsObserved':
      await update(sql.fragment`last_observed_kill_count = ${event.data.lifetimeKills},
        last_observed_at = ${event.data.observedAt}::timestamptz`);
      return;
    case 'AccrualRecorded':
      await update(sql.fragment`accrued_kill_count = accrued_kill_count + ${event.data.kills},
        accrued_raw = accrued_raw + ${event.data.amountRaw}::numeric`);
      return;
    case 'PayoutSent':
      // The settled cursor moves only when a payout is sent, never when it is requested (§4.4).
      await update(sql.fragment`last_settled_kill_count = last_settled_kill_count + ${event.data.kills},
        settled_raw = settled_raw + ${event.data.amountRaw}::numeric, last_settlement_at = ${event.data.sentAt}::timestamptz`);
      return;
    case 'PayoutRequested':
    case 'PayoutAttemptFailed':
    case 'PayoutFailed':
    case 'PayoutRetryRequested':
    case 'PayoutCancelled':
    case 'WalletLinked':
    case 'WalletVerified':
    case 'AbuseFlagRaised':
    case 'AbuseFlagCleared':
      // Kept by their own read models (payouts, reward_accruals, wallet_links, abuse_flags); the
      // settled cursor only moves on PayoutSent, and a cancelled payout was never settled.
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled user event ${JSON.stringify(unreachable)}`);
    }
  }
}
