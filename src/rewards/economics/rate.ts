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
  readonly thresholdBan: bigint;
  readonly multiplier: string;
  readonly name: string;
}

/** SPEC §4.5 default tiers, by total donated BAN. */
export const DEFAULT_MILESTONES: readonly MilestoneTier[] = [
  { thresholdBan: 0n, multiplier: '1.00', name: 'Fresh Spawn' },
  { thresholdBan: 100n, multiplier: '1.05', name: 'First Blood' },
  { thresholdBan: 500n, multiplier: '1.10', name: 'Loot Drop' },
  { thresholdBan: 1_000n, multiplier: '1.15', name: 'Supply Drop' },
  { thresholdBan: 2_500n, multiplier: '1.20', name: 'Storm Surge' },
  { thresholdBan: 5_000n, multiplier: '1.25', name: 'Airdrop Inbound' },
  { thresholdBan: 10_000n, multiplier: '1.30', name: 'Victory Royale' },
  { thresholdBan: 25_000n, multiplier: '1.40', name: 'Mythic Rarity' },
  { thresholdBan: 50_000n, multiplier: '1.45', name: 'The Monke Awakens' },
  { thresholdBan: 100_000n, multiplier: '1.50', name: 'Potassium Singularity' },
];

/** The highest tier whose threshold the total has reached (a threshold is reached at ≥). */
export function milestoneFor(totalDonatedRaw: bigint, tiers: readonly MilestoneTier[] = DEFAULT_MILESTONES): MilestoneTier {
  let reached = tiers[0];
  for (const tier of tiers) if (totalDonatedRaw >= tier.thresholdBan * RAW_PER_BAN) reached = tier;
  return reached;
}
