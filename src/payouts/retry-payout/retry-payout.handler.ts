import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool } from 'slonik';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { payoutOwner } from '../payout-owner';
import { RetryPayoutCommand, type RetryPayoutResult } from './retry-payout.command';

@CommandHandler(RetryPayoutCommand)
export class RetryPayoutHandler implements ICommandHandler<RetryPayoutCommand, RetryPayoutResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: RetryPayoutCommand): Promise<RetryPayoutResult> {
    const userId = await payoutOwner(this.pool, command.payoutId);
    const decision = await runUserCommand(this.store, userId, { type: 'RetryPayout', data: { payoutId: command.payoutId, now: new Date() } }, command.metadata);
    return { payoutId: command.payoutId, userId, status: 'pending', position: positionOf(decision) };
  }
}
