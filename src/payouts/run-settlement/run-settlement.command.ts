import { type CommandMetadata } from '../../platform/decider';

export class RunSettlementCommand {
  constructor(
    readonly preview: boolean,
    readonly trigger: 'schedule' | 'admin',
    readonly metadata: CommandMetadata,
  ) {}
}

/** The run summary of SPEC §5, plus what a caller needs to follow it. */
export interface SettlementRunSummary {
  readonly runId: string;
  readonly seed: string;
  readonly preview: boolean;
  readonly eligible: number;
  readonly payoutsRequested: number;
  readonly killsRequested: number;
  readonly amountRequestedRaw: string;
  readonly amountRequestedBan: string;
  readonly deferredByCaps: number;
  readonly deferredByBudget: number;
  readonly skipped: number;
  /** Why nothing was requested, when the run could not pay at all (e.g. operator_seed_not_configured). */
  readonly reason: string | null;
  readonly payouts: ReadonlyArray<{ readonly payoutId: string | null; readonly userId: string; readonly kills: number; readonly amountRaw: string; readonly amountBan: string }>;
  readonly position: string | null;
}
