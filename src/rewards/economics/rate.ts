import { floor8, RAW_PER_BAN } from '../../platform/money';

/**
 * Rates are exact: a multiplier is a decimal string turned into a fraction ("1.05" = 105/100),
 * and every step is integer arithmetic on bigint raw (SPEC §2, §4.2). No JavaScript number ever
 * touches an amount or a factor applied to one.
 */
export interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

export function parseDecimal(text: string): Fraction {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) throw new Error(`${text} is not a non-negative decimal`);
  const fraction = match[2] ?? '';
  return { numerator: BigInt(`${match[1]}${fraction}`), denominator: 10n ** BigInt(fraction.length) };
}

/** The factors an accrual records, so a replay never recomputes history. */
export interface RateFactors {
  readonly baseRaw: bigint;
  /** Decimal string of the milestone tier, e.g. "1.05". */
  readonly milestoneMultiplier: string;
  /** Decimal string with 4 decimals, e.g. "2.0000". */
  readonly sustainabilityFactor: string;
}

/** rate = floor8(base × milestoneMultiplier × sustainabilityFactor). */
export function ratePerKillRaw(factors: RateFactors): bigint {
  const multiplier = parseDecimal(factors.milestoneMultiplier);
  const sustainability = parseDecimal(factors.sustainabilityFactor);
  const exact =
    (factors.baseRaw * multiplier.numerator * sustainability.numerator) / (multiplier.denominator * sustainability.denominator);
  return floor8(exact);
}

const TEN_THOUSAND = 10_000n;
const FACTOR_MIN = 1_000n; // 0.1000
const FACTOR_MAX = 20_000n; // 2.0000

/**
 * clamp((seedFund + totalDonated) / totalPaidOut, 0.1, 2.0), truncated to 4 decimals; 2.0 while
 * nothing has been paid; 1 when the operator switched it off (SPEC §4.2).
 */
export function sustainabilityFactor(input: {
  readonly enabled: boolean;
  readonly seedFundRaw: bigint;
  readonly totalDonatedRaw: bigint;
  readonly totalPaidOutRaw: bigint;
}): string {
  if (!input.enabled) return '1.0000';
  if (input.totalPaidOutRaw <= 0n) return formatTenThousandths(FACTOR_MAX);
  const truncated = ((input.seedFundRaw + input.totalDonatedRaw) * TEN_THOUSAND) / input.totalPaidOutRaw;
  const clamped = truncated < FACTOR_MIN ? FACTOR_MIN : truncated > FACTOR_MAX ? FACTOR_MAX : truncated;
  return formatTenThousandths(clamped);
}

function formatTenThousandths(value: bigint): string {
  return `${(value / TEN_THOUSAND).toString()}.${(value % TEN_THOUSAND).toString().padStart(4, '0')}`;
}

export interface MilestoneTier {
  /** Reached when the total donated is at least this much. */
  readonly thresholdRaw: bigint;
  /** Decimal string, e.g. "1.05"; at most 4 decimals. */
  readonly multiplier: string;
  readonly name: string;
}

function tier(thresholdBan: bigint, multiplier: string, name: string): MilestoneTier {
  return { thresholdRaw: thresholdBan * RAW_PER_BAN, multiplier, name };
}

/** SPEC §4.5 default tiers, by total donated BAN (ECONOMICS_MILESTONES replaces them). */
export const DEFAULT_MILESTONES: readonly MilestoneTier[] = [
  tier(0n, '1.00', 'Fresh Spawn'),
  tier(100n, '1.05', 'First Blood'),
  tier(500n, '1.10', 'Loot Drop'),
  tier(1_000n, '1.15', 'Supply Drop'),
  tier(2_500n, '1.20', 'Storm Surge'),
  tier(5_000n, '1.25', 'Airdrop Inbound'),
  tier(10_000n, '1.30', 'Victory Royale'),
  tier(25_000n, '1.40', 'Mythic Rarity'),
  tier(50_000n, '1.45', 'The Monke Awakens'),
  tier(100_000n, '1.50', 'Potassium Singularity'),
];

/** The donation goal the progress is measured against (SPEC §4.5). */
export const DEFAULT_DONATION_GOAL_RAW = 10_000n * RAW_PER_BAN;

/**
 * The highest tier whose threshold the total has reached (a threshold is reached at ≥). The tiers
 * are in ascending order and the first one's threshold is 0, so there always is one.
 */
export function milestoneFor(totalDonatedRaw: bigint, tiers: readonly MilestoneTier[] = DEFAULT_MILESTONES): MilestoneTier {
  let reached = tiers[0];
  for (const candidate of tiers) if (totalDonatedRaw >= candidate.thresholdRaw) reached = candidate;
  return reached;
}

/** The first tier the total has not reached yet; null once the last one is reached. */
export function nextMilestone(totalDonatedRaw: bigint, tiers: readonly MilestoneTier[] = DEFAULT_MILESTONES): MilestoneTier | null {
  return tiers.find((candidate) => totalDonatedRaw < candidate.thresholdRaw) ?? null;
}

/**
 * The tiers a total of `totalDonatedRaw` has reached that have no MilestoneReached yet
 * (`reachedRaw` holds the thresholds already recorded). The 0 tier holds from the start and is
 * reached by no donation. Comparing with what is recorded, not with the total before, also catches
 * a tier an operator added below a total already donated.
 */
export function milestonesDue(
  totalDonatedRaw: bigint,
  reachedRaw: ReadonlySet<bigint>,
  tiers: readonly MilestoneTier[] = DEFAULT_MILESTONES,
): readonly MilestoneTier[] {
  return tiers.filter((candidate) => candidate.thresholdRaw > 0n && totalDonatedRaw >= candidate.thresholdRaw && !reachedRaw.has(candidate.thresholdRaw));
}
