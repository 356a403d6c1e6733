import { Inject, Injectable } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { milestoneFor, type RateFactors, sustainabilityFactor } from './rate';

/**
 * The per-kill rate factors in force now (SPEC §4.2). Total donated and total paid out will be
 * read from the donation and payout read models; until those capabilities exist both are 0,
 * which gives milestone ×1.00 ("Fresh Spawn") and sustainability 2.0.
 */
@Injectable()
export class RateFactorsSource {
  constructor(@Inject(LEDGER_CONFIG) private readonly config: LedgerConfig) {}

  async current(): Promise<RateFactors> {
    const totalDonatedRaw = 0n;
    const totalPaidOutRaw = 0n;
    return {
      baseRaw: this.config.payout.banPerKillRaw,
      milestoneMultiplier: milestoneFor(totalDonatedRaw).multiplier,
      sustainabilityFactor: sustainabilityFactor({
        enabled: this.config.economics.sustainabilityEnabled,
        seedFundRaw: this.config.economics.seedFundRaw,
        totalDonatedRaw,
        totalPaidOutRaw,
      }),
    };
  }
}
