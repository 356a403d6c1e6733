import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { handleCommand } from '../../platform/decider';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { formatBan } from '../../platform/money';
import { faucetConfigDecider, payoutSettingsInForce } from '../faucet-config/faucet-config.decider';
import { FAUCET_CONFIG_EVENT_SCHEMA_VERSION, FAUCET_CONFIG_STREAM } from '../faucet-config/faucet-config.events';
import { defaultPayoutSettings } from '../faucet-config/faucet-settings';
import { ChangePayoutConfigCommand, type ChangePayoutConfigResult } from './change-payout-config.command';

/** Appends `PayoutConfigChanged` with the fields that differ from what is in force; the next accrual and run use them. */
@CommandHandler(ChangePayoutConfigCommand)
export class ChangePayoutConfigHandler implements ICommandHandler<ChangePayoutConfigCommand, ChangePayoutConfigResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(command: ChangePayoutConfigCommand): Promise<ChangePayoutConfigResult> {
    const decision = await handleCommand(
      this.store,
      FAUCET_CONFIG_STREAM,
      faucetConfigDecider,
      { type: 'ChangePayoutConfig', data: { changes: command.changes, defaults: defaultPayoutSettings(this.config), now: new Date() } },
      { metadata: command.metadata, schemaVersion: FAUCET_CONFIG_EVENT_SCHEMA_VERSION },
    );
    const payout = payoutSettingsInForce(decision.state, defaultPayoutSettings(this.config));
    const position = decision.position ?? decision.history.at(-1)?.position ?? null;
    return {
      payout: {
        banPerKillRaw: payout.banPerKillRaw,
        banPerKillBan: formatBan(BigInt(payout.banPerKillRaw)),
        dailyKillCap: payout.dailyKillCap,
        weeklyKillCap: payout.weeklyKillCap,
        minOperatorBalanceRaw: payout.minOperatorBalanceRaw,
        minOperatorBalanceBan: formatBan(BigInt(payout.minOperatorBalanceRaw)),
      },
      changed: decision.events.flatMap((event) => Object.keys(event.data.changes)),
      position: position === null ? null : position.toString(),
    };
  }
}
