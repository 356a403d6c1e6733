import { sql } from 'slonik';
import { decodeUserEvent } from '../../src/identity/user/user.events';
import { formatBan } from '../../src/platform/money';
import { type Projection } from '../runtime/projection';

/** `reward_accruals`: one row per accrual, unique per (user, epoch minute). */
export const accrualsProjection: Projection = {
  name: 'reward_accruals',
  filter: { kind: 'category', categories: ['user'] },
  tables: ['reward_accruals'],
  async apply(transaction, events) {
    for (const recorded of events) {
      const event = decodeUserEvent(recorded.type, recorded.data);
      if (event?.type !== 'AccrualRecorded') continue;
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
    }
  },
};
