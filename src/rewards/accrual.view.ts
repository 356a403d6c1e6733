import { formatBan } from '../platform/money';

/** The accrual shape of SPEC §5. */
export interface AccrualView {
  readonly accrualId: string;
  readonly userId: string;
  readonly epochMinute: number;
  readonly kills: number;
  readonly fromKillCount: number;
  readonly toKillCount: number;
  readonly ratePerKillRaw: string;
  readonly ratePerKillBan: string;
  readonly amountRaw: string;
  readonly amountBan: string;
  readonly milestoneMultiplier: string;
  readonly sustainabilityFactor: string;
  readonly settled: boolean;
  readonly payoutId: string | null;
  readonly recordedAt: string;
}

export function accrualView(accrual: {
  accrualId: string;
  userId: string;
  epochMinute: number;
  kills: number;
  fromKillCount: number;
  toKillCount: number;
  ratePerKillRaw: string;
  amountRaw: string;
  milestoneMultiplier: string;
  sustainabilityFactor: string;
  settled: boolean;
  payoutId: string | null;
  recordedAt: string;
}): AccrualView {
  return {
    accrualId: accrual.accrualId,
    userId: accrual.userId,
    epochMinute: accrual.epochMinute,
    kills: accrual.kills,
    fromKillCount: accrual.fromKillCount,
    toKillCount: accrual.toKillCount,
    ratePerKillRaw: accrual.ratePerKillRaw,
    ratePerKillBan: formatBan(BigInt(accrual.ratePerKillRaw)),
    amountRaw: accrual.amountRaw,
    amountBan: formatBan(BigInt(accrual.amountRaw)),
    milestoneMultiplier: accrual.milestoneMultiplier,
    sustainabilityFactor: accrual.sustainabilityFactor,
    settled: accrual.settled,
    payoutId: accrual.payoutId,
    recordedAt: accrual.recordedAt,
  };
}
