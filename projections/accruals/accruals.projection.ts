import { sql } from 'slonik';
import { formatBan } from '../../src/platform/money';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `reward_accruals`: one row per accrual, unique per (user, epoch minute). */
export const accrualsProjection = userStreamProjection('reward_accruals', ['reward_accruals'], async (transaction, event) => {
  if (event.type !== 'AccrualRecorded') return;
  const accrual = event.data;
  await transaction.query(sql.unsafe`
    INSERT INTO reward_accruals (accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count,
      rate_per_kill_raw, base_rate_per_kill_raw, milestone_multiplier, sustainability_factor,
      amount_raw, amount_ban, recorded_at)
    VALUES (${accrual.accrualId}, ${accrual.userId}, ${accrual.epochMinute}, ${accrual.kills}, ${accrual.fromKillCount},
      ${accrual.toKillCount}, ${accrual.ratePerKillRaw}::numeric, ${accrual.baseRatePerKillRaw}::numeric,
      ${accrual.milestoneMultiplier}, ${accrual.sustainabilityFactor}, ${accrual.amountRaw}::numeric,
      ${formatBan(BigInt(accrual.amountRaw))}::numeric, ${accrual.recordedAt}::timestamptz)
    ON CONFLICT (accrual_id) DO NOTHING`);
});
