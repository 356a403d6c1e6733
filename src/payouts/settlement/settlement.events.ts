/** Events of the `settlement-<runId>` stream (SPEC §3). */

export interface SettlementRunStarted {
  readonly type: 'SettlementRunStarted';
  readonly data: {
    readonly runId: string;
    /** The RNG seed of the shuffle: with the same facts, the same seed gives the same plan. */
    readonly seed: string;
    readonly config: {
      readonly dailyKillCap: number;
      readonly weeklyKillCap: number;
      readonly batchSize: number;
      readonly minOperatorBalanceRaw: string;
      readonly spendableRaw: string;
      readonly dryRun: boolean;
    };
    readonly trigger: 'schedule' | 'admin';
    readonly startedAt: string;
  };
}

export interface SettlementRunCompleted {
  readonly type: 'SettlementRunCompleted';
  readonly data: {
    readonly runId: string;
    readonly eligible: number;
    readonly payoutsRequested: number;
    readonly killsRequested: number;
    readonly amountRequestedRaw: string;
    readonly deferredByCaps: number;
    readonly deferredByBudget: number;
    /** Planned payouts the user's stream refused (a read model was behind): they roll over. */
    readonly skipped: number;
    readonly reason: string | null;
    readonly completedAt: string;
  };
}

export type SettlementEvent = SettlementRunStarted | SettlementRunCompleted;

export const SETTLEMENT_CATEGORY = 'settlement';

export function settlementStream(runId: string): string {
  return `${SETTLEMENT_CATEGORY}-${runId}`;
}
