import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { handleCommand } from '../../platform/decider';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { faucetConfigDecider, schedulerSettingsInForce } from '../faucet-config/faucet-config.decider';
import { FAUCET_CONFIG_EVENT_SCHEMA_VERSION, FAUCET_CONFIG_STREAM } from '../faucet-config/faucet-config.events';
import { defaultSchedulerSettings } from '../faucet-config/faucet-settings';
import { ChangeSchedulerConfigCommand, type ChangeSchedulerConfigResult } from './change-scheduler-config.command';

/** Appends `SchedulerConfigChanged`; every process's settlement scheduler reads it at its next check. */
@CommandHandler(ChangeSchedulerConfigCommand)
export class ChangeSchedulerConfigHandler implements ICommandHandler<ChangeSchedulerConfigCommand, ChangeSchedulerConfigResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(command: ChangeSchedulerConfigCommand): Promise<ChangeSchedulerConfigResult> {
    const decision = await handleCommand(
      this.store,
      FAUCET_CONFIG_STREAM,
      faucetConfigDecider,
      { type: 'ChangeSchedulerConfig', data: { changes: command.changes, defaults: defaultSchedulerSettings(this.config), now: new Date() } },
      { metadata: command.metadata, schemaVersion: FAUCET_CONFIG_EVENT_SCHEMA_VERSION },
    );
    const position = decision.position ?? decision.history.at(-1)?.position ?? null;
    return {
      scheduler: schedulerSettingsInForce(decision.state, defaultSchedulerSettings(this.config)),
      changed: decision.events.flatMap((event) => Object.keys(event.data.changes)),
      position: position === null ? null : position.toString(),
    };
  }
}
