import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { formatBan } from '../../platform/money';
import { FileOperatorSeedSource, OperatorSeedUnreadableError } from '../../payouts/operator/operator-seed';
import { SecureConfigEntries } from '../../security/secure-config/secure-config.store';
import { operatorSeedStatus } from '../../security/secure-config/stored-operator-seed';
import { milestoneFor, nextMilestone, ratePerKillRaw } from '../../rewards/economics/rate';
import { RateFactorsSource } from '../../rewards/economics/rate-factors.source';
import { type DonationsView, milestoneView, progressTowards } from './donations.view';
import { GetDonationsQuery } from './get-donations.query';

/** The donors listed by GET /v1/donations (SPEC §5: the top 50). */
const TOP_DONORS = 50;

const totalsRow = z.object({ total_name: z.string(), amount_raw: z.string(), entry_count: z.bigint() });
const reachedRow = z.object({ threshold_raw: z.string(), reached_at: z.date() });
const donorRow = z.object({ sender: z.string(), amount_raw: z.string(), donation_count: z.bigint(), last_donation_at: z.date() });
const countRow = z.object({ donors: z.bigint() });

/**
 * Read models only: a public GET never touches the chain. The milestone ladder is the configured
 * tiers, each marked with its MilestoneReached; the rate is the one the next accrual would get.
 * The read models are read in one REPEATABLE READ snapshot, the rate's totals too, and the
 * treasury projection writes a donation's rows in one transaction: a donation landing meanwhile
 * is in every field of the answer (total, milestone, multiplier, rate, donors) or in none.
 * The operator address is the one GET /v1/admin/operator-seed/status shows, found the same way.
 */
@QueryHandler(GetDonationsQuery)
export class GetDonationsHandler implements IQueryHandler<GetDonationsQuery, DonationsView> {
  private readonly secureConfig: SecureConfigEntries;
  private readonly seedFile: FileOperatorSeedSource | null;
  /** The last reason logged for a missing address: a public page polls, so each reason is logged once. */
  private unreadableReason: string | null = null;

  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly rates: RateFactorsSource,
  ) {
    this.secureConfig = new SecureConfigEntries(pool);
    const path = config.banano.operatorSeedFile;
    this.seedFile = path === null ? null : new FileOperatorSeedSource(path);
  }

  /**
   * Where donors send: the operator account (index 0) of the seed in force, the stored one's
   * address read beside its ciphertext without decrypting it, or, while none is stored, the seed
   * file's. Null when neither is configured. The address is public (it is on the chain, and donors
   * need it); nothing else about the seed leaves this method. A seed file that cannot be read is
   * the operator's problem to fix, not the public's: the address is then null, and the reason is
   * logged once (never the seed: the error's message does not quote it).
   */
  private async operatorAddress(): Promise<string | null> {
    try {
      const { address } = await operatorSeedStatus(this.secureConfig, this.seedFile);
      this.unreadableReason = null;
      return address;
    } catch (error) {
      if (!(error instanceof OperatorSeedUnreadableError)) throw error;
      if (this.unreadableReason !== error.message) {
        this.unreadableReason = error.message;
        this.logger.warn({ code: error.code, reason: error.message }, 'GET /v1/donations: the operator seed cannot be read, so no operator address is shown');
      }
      return null;
    }
  }

  async execute(): Promise<DonationsView> {
    // One after the other: one connection runs one statement at a time anyway, and statements
    // sent together on one connection of slonik's leave a rejection unhandled when its backend is
    // terminated under them, which ends the process.
    const snapshot = this.pool.transaction(async (transaction) => {
      await transaction.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
      const totals = await transaction.any(sql.type(totalsRow)`SELECT total_name, amount_raw::text, entry_count FROM treasury_totals`);
      const reached = await transaction.any(sql.type(reachedRow)`SELECT threshold_raw::text, reached_at FROM milestones`);
      // Qualified: unqualified, `amount_raw` would name the output column, the text the SELECT
      // casts it to, and "9" would rank above "10".
      const donors = await transaction.any(sql.type(donorRow)`
        SELECT d.sender, d.amount_raw::text, d.donation_count, d.last_donation_at FROM donor_totals d
         ORDER BY d.amount_raw DESC, d.sender LIMIT ${TOP_DONORS}`);
      const donorCount = await transaction.one(sql.type(countRow)`SELECT count(*) AS donors FROM donor_totals`);
      const rate = await this.rates.current(transaction);
      return [totals, reached, donors, donorCount, rate] as const;
    });
    const [[totals, reached, donors, donorCount, rate], operatorAddress] = await Promise.all([snapshot, this.operatorAddress()]);
    const total = (name: string) => totals.find((row) => row.total_name === name);
    const donatedRaw = BigInt(total('donated')?.amount_raw ?? '0');
    const fundingRaw = BigInt(total('funded')?.amount_raw ?? '0');
    const { milestones: tiers, donationGoalRaw } = this.config.economics;
    const reachedAt = new Map(reached.map((row) => [BigInt(row.threshold_raw), row.reached_at]));
    const ladder = tiers.map((tier) => milestoneView(tier, reachedAt.get(tier.thresholdRaw) ?? null, donatedRaw));
    const current = milestoneFor(donatedRaw, tiers);
    const next = nextMilestone(donatedRaw, tiers);
    const effectiveRaw = ratePerKillRaw(rate);
    return {
      operatorAddress,
      totalDonatedRaw: donatedRaw.toString(),
      totalDonatedBan: formatBan(donatedRaw),
      donationCount: Number(total('donated')?.entry_count ?? 0n),
      donorCount: Number(donorCount.donors),
      totalFundingRaw: fundingRaw.toString(),
      totalFundingBan: formatBan(fundingRaw),
      goalRaw: donationGoalRaw.toString(),
      goalBan: formatBan(donationGoalRaw),
      progress: progressTowards(donatedRaw, donationGoalRaw),
      currentMilestone: milestoneView(current, reachedAt.get(current.thresholdRaw) ?? null, donatedRaw),
      nextMilestone:
        next === null
          ? null
          : {
              ...milestoneView(next, null, donatedRaw),
              remainingRaw: (next.thresholdRaw - donatedRaw).toString(),
              remainingBan: formatBan(next.thresholdRaw - donatedRaw),
            },
      milestones: ladder,
      multiplier: rate.milestoneMultiplier,
      sustainabilityFactor: rate.sustainabilityFactor,
      baseRatePerKillRaw: rate.baseRaw.toString(),
      baseRatePerKillBan: formatBan(rate.baseRaw),
      effectiveRatePerKillRaw: effectiveRaw.toString(),
      effectiveRatePerKillBan: formatBan(effectiveRaw),
      topDonors: donors.map((row) => ({
        address: row.sender,
        totalRaw: row.amount_raw,
        totalBan: formatBan(BigInt(row.amount_raw)),
        donationCount: Number(row.donation_count),
        lastDonationAt: row.last_donation_at.toISOString(),
      })),
    };
  }
}
