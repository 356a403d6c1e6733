import { formatBan } from '../../platform/money';
import { type MilestoneTier } from '../../rewards/economics/rate';

export interface MilestoneView {
  readonly thresholdRaw: string;
  readonly thresholdBan: string;
  readonly multiplier: string;
  readonly name: string;
  readonly reached: boolean;
  /** When MilestoneReached was recorded; null for the 0 tier (held from the start) and tiers not reached. */
  readonly reachedAt: string | null;
}

export interface DonorView {
  readonly address: string;
  readonly totalRaw: string;
  readonly totalBan: string;
  readonly donationCount: number;
  readonly lastDonationAt: string;
}

export interface DonationsView {
  /**
   * Where donations go: the operator account of the seed in force (as GET
   * /v1/admin/operator-seed/status shows it); null while no operator seed is configured.
   */
  readonly operatorAddress: string | null;
  readonly totalDonatedRaw: string;
  readonly totalDonatedBan: string;
  readonly donationCount: number;
  readonly donorCount: number;
  /** Sends from treasury.fundingAddresses: operator funding, never counted as donations. */
  readonly totalFundingRaw: string;
  readonly totalFundingBan: string;
  readonly goalRaw: string;
  readonly goalBan: string;
  /** min(total / goal, 1), truncated to 4 decimals, e.g. "0.0125". */
  readonly progress: string;
  readonly currentMilestone: MilestoneView;
  readonly nextMilestone: (MilestoneView & { readonly remainingRaw: string; readonly remainingBan: string }) | null;
  readonly milestones: readonly MilestoneView[];
  readonly multiplier: string;
  readonly sustainabilityFactor: string;
  readonly baseRatePerKillRaw: string;
  readonly baseRatePerKillBan: string;
  /** floor8(base × multiplier × sustainability factor): what a kill accrues now. */
  readonly effectiveRatePerKillRaw: string;
  readonly effectiveRatePerKillBan: string;
  readonly topDonors: readonly DonorView[];
}

export function milestoneView(tier: MilestoneTier, reachedAt: Date | null, totalDonatedRaw: bigint): MilestoneView {
  return {
    thresholdRaw: tier.thresholdRaw.toString(),
    thresholdBan: formatBan(tier.thresholdRaw),
    multiplier: tier.multiplier,
    name: tier.name,
    reached: totalDonatedRaw >= tier.thresholdRaw,
    reachedAt: reachedAt?.toISOString() ?? null,
  };
}

const PROGRESS_SCALE = 10_000n;

/** min(total / goal, 1) with 4 decimals, rounded down: progress is never shown ahead of the money. */
export function progressTowards(totalRaw: bigint, goalRaw: bigint): string {
  const scaled = ((totalRaw < goalRaw ? totalRaw : goalRaw) * PROGRESS_SCALE) / goalRaw;
  return `${(scaled / PROGRESS_SCALE).toString()}.${(scaled % PROGRESS_SCALE).toString().padStart(4, '0')}`;
}
