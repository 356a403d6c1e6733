import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, type DatabasePoolConnection } from 'slonik';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError, NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { failpoint } from '../../platform/runtime/failpoint';
import { type RateFactors } from '../../rewards/economics/rate';
import { RateFactorsSource } from '../../rewards/economics/rate-factors.source';
import { LIFETIME_KILLS_SOURCE, type LifetimeKillsSource, statsFailure } from '../../rewards/fortnite-stats/lifetime-kills.port';
import { claimEpicAccount, markOfEpicAccount, releaseClaim, releaseOtherClaims, withEpicLinkLock } from '../epic-account-claims';
import { loadUser, positionOf, runUserCommand } from '../user/run-user-command';
import { LinkEpicAccountCommand, type LinkEpicAccountResult } from './link-epic-account.command';

@CommandHandler(LinkEpicAccountCommand)
export class LinkEpicAccountHandler implements ICommandHandler<LinkEpicAccountCommand, LinkEpicAccountResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LIFETIME_KILLS_SOURCE) private readonly stats: LifetimeKillsSource | null,
    private readonly rates: RateFactorsSource,
  ) {}

  async execute(command: LinkEpicAccountCommand): Promise<LinkEpicAccountResult> {
    // Kills of the account linked now that still wait for a later minute accrue at this rate. Read
    // before the lock, whose connection is held meanwhile: a pool full of links would wait for ever.
    const rate = await this.rates.current();
    return withEpicLinkLock(this.pool, command.userId, (connection) => this.link(command, rate, connection));
  }

  private async link(command: LinkEpicAccountCommand, rate: RateFactors, connection: DatabasePoolConnection): Promise<LinkEpicAccountResult> {
    const epicAccountId = command.epicAccountId.toLowerCase();
    // Only a registered user may claim an Epic id, or anyone could squat ids with made-up users.
    const current = await loadUser(this.store, command.userId);
    if (current.status !== 'registered') throw new NotFoundError('user_not_found', 'No such user');
    // Linking the same id again links nothing (at most it records an ok verification), so there is
    // no baseline to fetch for it, nor a former holder's mark to read.
    const linkedAlready = current.epic?.epicAccountId === epicAccountId ? current.epic : null;
    const baseline = command.lifetimeKills ?? (linkedAlready !== null ? linkedAlready.baseline : await this.readBaseline(epicAccountId));
    const claim = await claimEpicAccount(connection, this.store, epicAccountId, command.userId);
    failpoint('epic-account-claimed');
    // What a user who held the account before accrued of it: the baseline of a new link is no lower.
    const formerHolderMark = claim === 'taken' || linkedAlready !== null ? null : await markOfEpicAccount(connection, epicAccountId);
    let decision: Awaited<ReturnType<typeof runUserCommand>>;
    try {
      decision = await runUserCommand(
        this.store,
        command.userId,
        { type: 'LinkEpicAccount', data: { epicAccountId, baselineKills: baseline, linkedToAnotherUser: claim === 'taken', formerHolderMark, rate, now: new Date() } },
        command.metadata,
      );
    } catch (error) {
      // Nothing was linked, so a claim this attempt made must not keep the id from anyone. A claim
      // the user held already (its link, when it links the same id again) is kept.
      if (claim === 'claimed') await releaseClaim(connection, command.userId, epicAccountId);
      throw error;
    }
    if (decision.state.status !== 'registered') throw new Error('A link left its user unregistered');
    failpoint('epic-account-linked');
    await releaseOtherClaims(connection, command.userId, epicAccountId, decision.state.formerHighWater);
    const epic = decision.state.epic;
    return {
      userId: command.userId,
      epicAccountId,
      baselineKills: Number(epic?.baseline ?? baseline),
      position: positionOf(decision),
    };
  }

  /** Never assumes 0: without a readable baseline the link is refused (SPEC §4.1). */
  private async readBaseline(epicAccountId: string): Promise<bigint> {
    if (this.stats === null) {
      throw new DomainError('lifetime_kills_required', 'The Fortnite stats API is not configured: give lifetimeKills as the baseline');
    }
    try {
      return await this.stats.lifetimeKills(epicAccountId);
    } catch (error) {
      throw statsFailure(error) ?? error;
    }
  }
}
