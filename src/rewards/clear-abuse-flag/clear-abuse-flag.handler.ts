import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { DATABASE_POOL } from '../../platform/database/database';
import { NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { ClearAbuseFlagCommand, type ClearAbuseFlagResult } from './clear-abuse-flag.command';

const ownerRow = z.object({ user_id: z.string() });

/**
 * Clears an abuse flag (SPEC §4.2, §4.6): the read model only says whose stream holds the flag;
 * the user stream decides, and a flag already cleared is answered as cleared, appending nothing.
 */
@CommandHandler(ClearAbuseFlagCommand)
export class ClearAbuseFlagHandler implements ICommandHandler<ClearAbuseFlagCommand, ClearAbuseFlagResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: ClearAbuseFlagCommand): Promise<ClearAbuseFlagResult> {
    const userId = await this.pool.maybeOneFirst(sql.type(ownerRow)`SELECT user_id FROM abuse_flags WHERE flag_id = ${command.flagId}`);
    if (userId === null) throw new NotFoundError('abuse_flag_not_found', `No abuse flag ${command.flagId}`);
    const decision = await runUserCommand(
      this.store,
      userId,
      { type: 'ClearAbuseFlag', data: { flagId: command.flagId, reason: command.reason, now: new Date() } },
      command.metadata,
    );
    return { flagId: command.flagId, userId, status: 'cleared', position: positionOf(decision) };
  }
}
