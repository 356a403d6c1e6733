import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { formatBan } from '../../platform/money';
import { payoutSettingsInForce } from '../faucet-config/faucet-config.decider';
import { defaultPayoutSettings } from '../faucet-config/faucet-settings';
import { changeOutcome, runFaucetConfigCommand } from '../faucet-config/run-faucet-config-command';
import { ChangePayoutConfigCommand, type ChangePayoutConfigResult } from './change-payout-config.command';

/** Appends `PayoutConfigChanged` with the fields that differ from what is in force; the next accrual and run use them. */
@CommandHandler(ChangePayoutConfigCommand)
export class ChangePayoutConfigHandler implements ICommandHandler<ChangePayoutConfigCommand, ChangePayoutConfigResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(command: ChangePayoutConfigCommand): Promise<ChangePayoutConfigResult> {
    const defaults = defaultPayoutSettings(this.config);
    const decision = await runFaucetConfigCommand(this.store, { type: 'ChangePayoutConfig', data: { changes: command.changes, defaults, now: new Date() } }, command.metadata);
    const payout = payoutSettingsInForce(decision.state, defaults);
    return {
      payout: {
        banPerKillRaw: payout.banPerKillRaw,
        banPerKillBan: formatBan(BigInt(payout.banPerKillRaw)),
        dailyKillCap: payout.dailyKillCap,
        weeklyKillCap: payout.weeklyKillCap,
        minOperatorBalanceRaw: payout.minOperatorBalanceRaw,
        minOperatorBalanceBan: formatBan(BigInt(payout.minOperatorBalanceRaw)),
      },
      ...changeOutcome(decision),
    };
  }
}
