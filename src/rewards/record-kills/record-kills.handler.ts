import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { accrualView } from '../accrual.view';
import { type CurrentRate, RateFactorsSource } from '../economics/rate-factors.source';
import { runCachedUserCommand, UserStateCache } from '../../identity/user/user-state-cache';
import { FreshReads } from './fresh-reads';
import { RecordKillsCommand, type RecordKillsResult } from './record-kills.command';

/**
 * One observation through the user decider; the HTTP routes and the stats poller all use it. The
 * user's state comes from the application's cache when it has one (see UserStateCache), and
 * observations arriving together share their reads of the rate in force (see FreshReads): an
 * observation then costs little more than its append, which the event store sends together with
 * the appends of other observations on their way.
 */
@CommandHandler(RecordKillsCommand)
export class RecordKillsHandler implements ICommandHandler<RecordKillsCommand, RecordKillsResult> {
  private readonly rates: FreshReads<CurrentRate>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    rates: RateFactorsSource,
    private readonly users: UserStateCache,
  ) {
    this.rates = new FreshReads(() => rates.current());
  }

  async execute(command: RecordKillsCommand): Promise<RecordKillsResult> {
    const now = new Date();
    const { userId, lifetimeKills, observedAt, epicAccountId } = command.observation;
    const rate = command.rate ?? (await this.rates.read());
    const decision = await runCachedUserCommand(
      this.store,
      this.users,
      userId,
      { type: 'ObserveKills', data: { lifetimeKills, observedAt, now, rate, abuse: this.config.abuse, epicAccountId } },
      command.metadata,
    );
    const accrual = decision.events.find((event) => event.type === 'AccrualRecorded');
    return {
      accrual:
        accrual?.type === 'AccrualRecorded' ? accrualView({ ...accrual.data, settled: false, payoutId: null }) : null,
      flags: decision.events.flatMap((event) =>
        event.type === 'AbuseFlagRaised' ? [{ flagId: event.data.flagId, flagType: event.data.flagType, severity: event.data.severity }] : [],
      ),
      position: decision.position === null ? null : decision.position.toString(),
    };
  }
}
