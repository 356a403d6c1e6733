import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { DATABASE_POOL } from '../../platform/database/database';
import { NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { CancelPayoutCommand, type CancelPayoutResult } from './cancel-payout.command';

const ownerRow = z.object({ user_id: z.string() });

@CommandHandler(CancelPayoutCommand)
export class CancelPayoutHandler implements ICommandHandler<CancelPayoutCommand, CancelPayoutResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: CancelPayoutCommand): Promise<CancelPayoutResult> {
    // The read model only says whose stream to open; the user stream decides. A payout the read
    // model has not caught up with yet is not found until it has.
    const userId = await this.pool.maybeOneFirst(sql.type(ownerRow)`SELECT user_id FROM payouts WHERE payout_id = ${command.payoutId}`);
    if (userId === null) throw new NotFoundError('payout_not_found', `No payout ${command.payoutId}`);
    const decision = await runUserCommand(
      this.store,
      userId,
      { type: 'CancelPayout', data: { payoutId: command.payoutId, reason: command.reason, now: new Date() } },
      command.metadata,
    );
    return { payoutId: command.payoutId, userId, status: 'cancelled', position: positionOf(decision) };
  }
}
