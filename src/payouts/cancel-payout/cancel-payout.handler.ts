import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { positionOf, runUserCommand } from '../../identity/user/run-user-command';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '../../platform/event-store/event-store.port';
import { BANANO_GATEWAY, type BananoGateway } from '../banano/banano-gateway';
import { BananoNodeError } from '../banano/banano-rpc.client';
import { payoutOwner } from '../payout-owner';
import { CancelPayoutCommand, type CancelPayoutResult } from './cancel-payout.command';

/**
 * Cancels a failed payout, which releases its kills to be paid again. A payout is failed only once
 * none of its blocks can land, but its kills paid twice would be money gone, so the chain is asked
 * once more first: a block of one of its attempts on the chain refuses the cancel (409
 * `payout_block_on_chain`; a retry then records the payout sent), and so does a node that cannot
 * say (503 `banano_node_unavailable`). A payout that signed no block (dry-run, or refused before
 * signing) needs no node.
 */
@CommandHandler(CancelPayoutCommand)
export class CancelPayoutHandler implements ICommandHandler<CancelPayoutCommand, CancelPayoutResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(BANANO_GATEWAY) private readonly banano: BananoGateway | null,
  ) {}

  async execute(command: CancelPayoutCommand): Promise<CancelPayoutResult> {
    const userId = await payoutOwner(this.pool, command.payoutId);
    // The node is asked about the blocks of the events the cancel is decided on, and appended
    // against: a retry and a new attempt's block recorded meanwhile fail the append, and the new
    // block is asked about too before the kills are released.
    const decision = await runUserCommand(
      this.store,
      userId,
      { type: 'CancelPayout', data: { payoutId: command.payoutId, reason: command.reason, now: new Date() } },
      command.metadata,
      (events) => this.refuseWhileABlockIsOnChain(events, command.payoutId),
    );
    return { payoutId: command.payoutId, userId, status: 'cancelled', position: positionOf(decision) };
  }

  /** Called only when the decider cancels, so only for a payout that is failed in `events`. */
  private async refuseWhileABlockIsOnChain(events: readonly RecordedEvent[], payoutId: string): Promise<void> {
    const blocks = new Set<string>();
    for (const event of events) {
      if (event.type === 'PayoutAttemptFailed' && event.data.payoutId === payoutId && typeof event.data.blockHash === 'string') {
        blocks.add(event.data.blockHash);
      }
    }
    if (blocks.size === 0) return;
    // A block another payout signed again since (one amount, one address, one frontier) and was
    // sent with pays that payout, not this one (OperatorState.payoutOfBlock).
    const paidOthers = await this.pool.anyFirst(sql.type(z.object({ block_hash: z.string() }))`
      SELECT block_hash FROM payouts
       WHERE block_hash = ANY(${sql.array([...blocks], 'text')}) AND status = 'sent' AND payout_id <> ${payoutId}`);
    for (const blockHash of paidOthers) blocks.delete(blockHash);
    if (blocks.size === 0) return;
    if (this.banano === null) {
      throw new DomainError(
        'banano_node_unavailable',
        `Payout ${payoutId} signed blocks, and no Banano node is configured (BANANO_RPC_URL) to show that none of them is on the chain; nothing was appended`,
        503,
      );
    }
    for (const blockHash of blocks) {
      let found: boolean;
      try {
        found = (await this.banano.rpc.blockInfo(blockHash)) !== null;
      } catch (error) {
        if (!(error instanceof BananoNodeError)) throw error;
        throw new DomainError('banano_node_unavailable', `The Banano node could not say whether block ${blockHash} is on the chain: ${error.message}; nothing was appended`, 503);
      }
      if (found) {
        throw new DomainError(
          'payout_block_on_chain',
          `Payout ${payoutId} is failed, but block ${blockHash} of one of its attempts is on the chain: it was paid. Retry it, and the executor records it as sent; nothing was appended`,
          409,
        );
      }
    }
  }
}
