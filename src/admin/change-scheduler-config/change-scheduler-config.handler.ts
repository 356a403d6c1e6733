import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { schedulerSettingsInForce } from '../faucet-config/faucet-config.decider';
import { defaultSchedulerSettings } from '../faucet-config/faucet-settings';
import { changeOutcome, runFaucetConfigCommand } from '../faucet-config/run-faucet-config-command';
import { ChangeSchedulerConfigCommand, type ChangeSchedulerConfigResult } from './change-scheduler-config.command';

/** Appends `SchedulerConfigChanged`; every process's settlement scheduler reads it at its next check. */
@CommandHandler(ChangeSchedulerConfigCommand)
export class ChangeSchedulerConfigHandler implements ICommandHandler<ChangeSchedulerConfigCommand, ChangeSchedulerConfigResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(command: ChangeSchedulerConfigCommand): Promise<ChangeSchedulerConfigResult> {
    const defaults = defaultSchedulerSettings(this.config);
    const decision = await runFaucetConfigCommand(this.store, { type: 'ChangeSchedulerConfig', data: { changes: command.changes, defaults, now: new Date() } }, command.metadata);
    return { scheduler: schedulerSettingsInForce(decision.state, defaults), ...changeOutcome(decision) };
  }
}
