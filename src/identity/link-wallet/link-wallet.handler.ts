import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { positionOf, runUserCommand } from '../user/run-user-command';
import { LinkWalletCommand, type LinkWalletResult } from './link-wallet.command';
import { waitForCheckpoint } from '../../platform/read-models/checkpoints';

/** The read model shared_wallet is judged from, and how long a link waits for it at most. */
const WALLET_LINKS_READ_MODEL = 'wallet_links';
const SHARED_WALLET_WAIT_MS = 2_000;

@CommandHandler(LinkWalletCommand)
export class LinkWalletHandler implements ICommandHandler<LinkWalletCommand, LinkWalletResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
  ) {}

  async execute(command: LinkWalletCommand): Promise<LinkWalletResult> {
    // shared_wallet (SPEC §4.2) is judged from the wallet_links read model, so it first waits, a
    // little, for the links stored before this one: without the wait, a second user linking an
    // address within the projector's lag of the first (accounts scripted to share a wallet) was
    // never flagged. The flag is a low-severity hint that blocks nothing, so a read model still
    // behind after the wait does not hold the link up.
    const head = await this.store.headPosition();
    if (head !== null) await waitForCheckpoint(this.pool, WALLET_LINKS_READ_MODEL, head, SHARED_WALLET_WAIT_MS);
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
