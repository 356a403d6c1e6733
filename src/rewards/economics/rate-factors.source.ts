import { Inject, Injectable } from '@nestjs/common';
import { type CommonQueryMethods, type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { FaucetSettings } from '../../admin/faucet-config/faucet-settings';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { milestoneFor, type RateFactors, sustainabilityFactor } from './rate';

const totalsRow = z.object({ paid_raw: z.string(), donated_raw: z.string() });

/** The rate factors in force and the totals they come from. */
export interface CurrentRate extends RateFactors {
  readonly totalDonatedRaw: bigint;
  readonly totalPaidOutRaw: bigint;
}

/**
 * The per-kill rate factors in force now (SPEC §4.2, §4.5). Total paid out is what sent payouts
 * moved (payout_totals, kept by the payouts projection); total donated is the sum of every
 * DonationReceived (treasury_totals, kept by the treasury projection). Both are running totals of
 * one row each, because this runs for every kill observation. The base is the one in force in the
 * faucet-config stream, so an admin's change applies from the next accrual on. Read models follow the events
 * closely but not instantly: an accrual recorded in the moment a donation crosses a tier may still
 * get the tier below; the accrual records the factors it used, so a replay never changes it.
 * A reader that shows the rate beside other read models (GET /v1/donations) passes the connection
 * of its snapshot, so the rate and what it shows come from the same totals.
 */
@Injectable()
export class RateFactorsSource {
  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    private readonly settings: FaucetSettings,
  ) {}

  async current(connection: CommonQueryMethods = this.pool): Promise<CurrentRate> {
    const [totals, settings] = await Promise.all([
      connection.one(sql.type(totalsRow)`
      SELECT coalesce((SELECT amount_raw FROM payout_totals WHERE total_name = 'sent'), 0)::text AS paid_raw,
             coalesce((SELECT amount_raw FROM treasury_totals WHERE total_name = 'donated'), 0)::text AS donated_raw`),
      this.settings.current(),
    ]);
    const totalDonatedRaw = BigInt(totals.donated_raw);
    const totalPaidOutRaw = BigInt(totals.paid_raw);
    const { economics } = this.config;
    return {
      baseRaw: settings.payout.banPerKillRaw,
      milestoneMultiplier: milestoneFor(totalDonatedRaw, economics.milestones).multiplier,
      sustainabilityFactor: sustainabilityFactor({
        enabled: economics.sustainabilityEnabled,
        seedFundRaw: economics.seedFundRaw,
        totalDonatedRaw,
        totalPaidOutRaw,
      }),
      totalDonatedRaw,
      totalPaidOutRaw,
    };
  }
}
