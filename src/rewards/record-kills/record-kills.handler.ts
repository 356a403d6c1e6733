import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { runUserCommand, positionOf } from '../../identity/user/run-user-command';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { accrualView } from '../accrual.view';
import { RateFactorsSource } from '../economics/rate-factors.source';
import { RecordKillsCommand, type RecordKillsResult } from './record-kills.command';

/** One observation through the user decider; the HTTP routes and the stats poller all use it. */
@CommandHandler(RecordKillsCommand)
export class RecordKillsHandler implements ICommandHandler<RecordKillsCommand, RecordKillsResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly rates: RateFactorsSource,
  ) {}

  async execute(command: RecordKillsCommand): Promise<RecordKillsResult> {
    const now = new Date();
    const { userId, lifetimeKills, observedAt } = command.observation;
    const decision = await runUserCommand(
      this.store,
      userId,
      {
        type: 'ObserveKills',
        data: { lifetimeKills, observedAt: observedAt ?? now, now, rate: await this.rates.current(), abuse: this.config.abuse },
      },
      command.metadata,
    );
    const accrual = decision.events.find((event) => event.type === 'AccrualRecorded');
    return {
      accrual:
        accrual?.type === 'AccrualRecorded' ? accrualView({ ...accrual.data, settled: false, payoutId: null }) : null,
      flags: decision.events.flatMap((event) =>
        event.type === 'AbuseFlagRaised' ? [{ flagId: event.data.flagId, flagType: event.data.flagType, severity: event.data.severity }] : [],
      ),
      position: positionOf(decision),
    };
  }
}
