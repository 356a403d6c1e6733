import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { ClearAbuseFlagCommand, type ClearAbuseFlagResult } from './clear-abuse-flag.command';

const ownerRow = z.object({ user_id: z.string() });

/**
 * Clears an abuse flag (SPEC §4.2, §4.6): the read model only says whose stream holds the flag;
 * the user stream decides, and a flag already cleared is answered as cleared, appending nothing.
 * A flag the read model does not hold may be one raised a moment ago (an observation answers its
 * flagId): the read model is first given time to apply every event stored, as `?minPosition=`
 * would (503 read_model_behind if it has not by then), and only a flag it still lacks is 404.
 */
@CommandHandler(ClearAbuseFlagCommand)
export class ClearAbuseFlagHandler implements ICommandHandler<ClearAbuseFlagCommand, ClearAbuseFlagResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(command: ClearAbuseFlagCommand): Promise<ClearAbuseFlagResult> {
    let userId = await this.owner(command.flagId);
    if (userId === null) {
      await awaitReadModels(this.pool, this.store, ['abuse_flags'], await this.store.lastPosition(), this.config.http.minPositionWaitMs);
      userId = await this.owner(command.flagId);
    }
    if (userId === null) throw new NotFoundError('abuse_flag_not_found', `No abuse flag ${command.flagId}`);
    const decision = await runUserCommand(
      this.store,
      userId,
      { type: 'ClearAbuseFlag', data: { flagId: command.flagId, reason: command.reason, now: new Date() } },
      command.metadata,
    );
    return { flagId: command.flagId, userId, status: 'cleared', position: positionOf(decision) };
  }

  private owner(flagId: string): Promise<string | null> {
    return this.pool.maybeOneFirst(sql.type(ownerRow)`SELECT user_id FROM abuse_flags WHERE flag_id = ${flagId}`);
  }
}
