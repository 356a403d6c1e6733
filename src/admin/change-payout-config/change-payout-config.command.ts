import { type CommandMetadata } from '../../platform/decider';
import { type PayoutSettings } from '../faucet-config/faucet-config.events';

export class ChangePayoutConfigCommand {
  constructor(
    readonly changes: Partial<PayoutSettings>,
    readonly metadata: CommandMetadata,
  ) {}
}

/** The payout settings in force after the change, which fields it changed, and its position. */
export interface ChangePayoutConfigResult {
  readonly payout: {
    readonly banPerKillRaw: string;
    readonly banPerKillBan: string;
    readonly dailyKillCap: number;
    readonly weeklyKillCap: number;
    readonly minOperatorBalanceRaw: string;
    readonly minOperatorBalanceBan: string;
  };
  readonly changed: readonly string[];
  readonly position: string | null;
}
