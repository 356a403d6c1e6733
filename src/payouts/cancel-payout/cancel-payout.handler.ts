import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool } from 'slonik';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { payoutOwner } from '../payout-owner';
import { CancelPayoutCommand, type CancelPayoutResult } from './cancel-payout.command';

@CommandHandler(CancelPayoutCommand)
export class CancelPayoutHandler implements ICommandHandler<CancelPayoutCommand, CancelPayoutResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: CancelPayoutCommand): Promise<CancelPayoutResult> {
    const userId = await payoutOwner(this.pool, command.payoutId);
    const decision = await runUserCommand(
      this.store,
      userId,
      { type: 'CancelPayout', data: { payoutId: command.payoutId, reason: command.reason, now: new Date() } },
      command.metadata,
    );
    return { payoutId: command.payoutId, userId, status: 'cancelled', position: positionOf(decision) };
  }
}
