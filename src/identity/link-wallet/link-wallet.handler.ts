import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { positionOf, runUserCommand } from '../user/run-user-command';
import { LinkWalletCommand, type LinkWalletResult } from './link-wallet.command';

@CommandHandler(LinkWalletCommand)
export class LinkWalletHandler implements ICommandHandler<LinkWalletCommand, LinkWalletResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: LinkWalletCommand): Promise<LinkWalletResult> {
    // shared_wallet is a low-severity hint, so the eventually consistent read model is enough.
    const primaryForAnotherUser = await this.pool.exists(sql.unsafe`
      SELECT 1 FROM wallet_links WHERE address = ${command.address} AND is_primary AND user_id <> ${command.userId}`);
    const decision = await runUserCommand(
      this.store,
      command.userId,
      { type: 'LinkWallet', data: { address: command.address, primaryForAnotherUser, now: new Date() } },
      command.metadata,
    );
    const wallet = decision.state.status === 'registered' ? decision.state.wallet : null;
    return { address: command.address, primary: true, verified: wallet?.verified ?? false, position: positionOf(decision) };
  }
}
