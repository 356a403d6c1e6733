import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, type DatabasePoolConnection } from 'slonik';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError, NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { type RateFactors } from '../../rewards/economics/rate';
import { RateFactorsSource } from '../../rewards/economics/rate-factors.source';
import { LIFETIME_KILLS_SOURCE, type LifetimeKillsSource, statsFailureCode } from '../../rewards/fortnite-stats/lifetime-kills.port';
import { claimEpicAccount, markOfEpicAccount, releaseClaim, releaseOtherClaims, withEpicLinkLock } from '../epic-account-claims';
import { loadUser, positionOf, runUserCommand } from '../user/run-user-command';
import { type YuniteFinding } from '../user/user.decider';
import { YUNITE, type YuniteLookupPort } from '../yunite/yunite.port';
import { VerifyUserCommand, type VerifyUserResult } from './verify-user.command';

/**
 * Asks Yunite for the user's Epic account and records what it found (SPEC §4.1). When Yunite
 * itself cannot answer (down, rate-limiting, wrong key) nothing is recorded and the caller gets
 * a 503: an outage must not mark every user unverified. A new or changed Epic account whose
 * baseline cannot be read is recorded as `error`, and nothing is linked.
 */
@CommandHandler(VerifyUserCommand)
export class VerifyUserHandler implements ICommandHandler<VerifyUserCommand, VerifyUserResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(YUNITE) private readonly yunite: YuniteLookupPort | null,
    @Inject(LIFETIME_KILLS_SOURCE) private readonly stats: LifetimeKillsSource | null,
    private readonly rates: RateFactorsSource,
  ) {}

  async execute(command: VerifyUserCommand): Promise<VerifyUserResult> {
    // Kills of the account linked now that still wait for a later minute accrue at this rate when
    // the account changed. Read before the lock, whose connection is held meanwhile (see
    // LinkEpicAccountHandler).
    const rate = await this.rates.current();
    return withEpicLinkLock(this.pool, command.userId, (connection) => this.verify(command, rate, connection));
  }

  private async verify(command: VerifyUserCommand, rate: RateFactors, connection: DatabasePoolConnection): Promise<VerifyUserResult> {
    // An unknown user is a 404 whatever the configuration: a 503 would invite a retry that can never succeed.
    const user = await loadUser(this.store, command.userId);
    if (user.status !== 'registered') throw new NotFoundError('user_not_found', 'No such user');
    if (this.yunite === null) {
      throw new DomainError('yunite_not_configured', 'Yunite is not configured (YUNITE_API_KEY, YUNITE_GUILD_ID): link Epic accounts directly', 503);
    }
    const lookup = await this.yunite.lookupEpicAccount(user.discordUserId);
    let finding: YuniteFinding = { kind: 'not_linked' };
    let claimed: string | null = null;
    if (lookup.kind === 'linked') {
      const epicAccountId = lookup.epicAccountId.toLowerCase();
      const isNew = user.epic?.epicAccountId !== epicAccountId;
      const claim = isNew ? await claimEpicAccount(connection, this.store, epicAccountId, command.userId) : null;
      const taken = claim === 'taken';
      // Only a claim this call made is released when nothing gets linked.
      if (claim === 'claimed') claimed = epicAccountId;
      const linkable = isNew && !taken;
      finding = {
        kind: 'linked',
        epicAccountId,
        linkedToAnotherUser: taken,
        baseline: linkable ? await this.baseline(epicAccountId) : null,
        formerHolderMark: linkable ? await markOfEpicAccount(connection, epicAccountId) : null,
      };
    }
    let decision: Awaited<ReturnType<typeof runUserCommand>>;
    try {
      decision = await runUserCommand(this.store, command.userId, { type: 'RecordVerification', data: { finding, rate, now: new Date() } }, command.metadata);
    } catch (error) {
      if (claimed !== null) await releaseClaim(connection, command.userId, claimed);
      throw error;
    }
    const { state } = decision;
    if (state.status === 'registered' && state.epic !== null) {
      await releaseOtherClaims(connection, command.userId, state.epic.epicAccountId, state.formerHighWater);
    } else if (claimed !== null) await releaseClaim(connection, command.userId, claimed);
    const record = decision.events.find((event) => event.type === 'VerificationRecorded');
    if (record?.type !== 'VerificationRecorded') throw new Error('A verification decided no VerificationRecorded');
    return { ...record.data, position: positionOf(decision) };
  }

  private async baseline(epicAccountId: string): Promise<{ kills: bigint } | { error: string }> {
    if (this.stats === null) return { error: 'stats_not_configured' };
    try {
      return { kills: await this.stats.lifetimeKills(epicAccountId) };
    } catch (error) {
      const code = statsFailureCode(error);
      if (code === null) throw error;
      return { error: code };
    }
  }
}
