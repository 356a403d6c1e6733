import { Inject, Injectable } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { milestoneFor, type RateFactors, sustainabilityFactor } from './rate';

const paidRow = z.object({ paid_raw: z.string() });

/**
 * The per-kill rate factors in force now (SPEC §4.2). Total paid out is what sent payouts moved,
 * kept as a running total by the payouts projection. Total donated is 0 until the treasury
 * capability records donations, which leaves the milestone at ×1.00.
 */
@Injectable()
export class RateFactorsSource {
  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async current(): Promise<RateFactors> {
    const totalDonatedRaw = 0n;
    // One row, kept by the payouts projection: this runs for every kill observation.
    const paid = await this.pool.one(
      sql.type(paidRow)`SELECT coalesce((SELECT amount_raw FROM payout_totals WHERE total_name = 'sent'), 0)::text AS paid_raw`,
    );
    return {
      baseRaw: this.config.payout.banPerKillRaw,
      milestoneMultiplier: milestoneFor(totalDonatedRaw).multiplier,
      sustainabilityFactor: sustainabilityFactor({
        enabled: this.config.economics.sustainabilityEnabled,
        seedFundRaw: this.config.economics.seedFundRaw,
        totalDonatedRaw,
        totalPaidOutRaw: BigInt(paid.paid_raw),
      }),
    };
  }
}
