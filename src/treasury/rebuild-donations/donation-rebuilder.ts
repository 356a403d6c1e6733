import { strict as assert } from 'node:assert';
import { type DatabasePool } from 'slonik';
import { type CommandMetadata } from '../../platform/decider';
import { withAdvisoryLockWithin } from '../../platform/database/advisory-lock';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore, type NewEvent } from '../../platform/event-store/event-store.port';
import { BananoNodeError, type BananoRpcClient, type HistoryEntry } from '../../payouts/banano/banano-rpc.client';
import { ChainTooLongError, InconsistentHistoryError, readAccountChain, stateBlockOf } from '../../payouts/banano/account-chain';
import { hashOf, OPEN_PREVIOUS } from '../../payouts/banano/state-block';
import { OPERATOR_ACCOUNT_LOCK } from '../../payouts/executor/payout-executor';
import { type OperatorAccount, requireOperatorAccount, type OperatorSeedSource } from '../../payouts/operator/operator-seed';
import { OperatorStreamReader, type OperatorState, type ReceiveRecordedData, signedBlockHash } from '../../payouts/operator/operator.events';
import { type DonationsElsewhere, OperatorAccounts } from '../../payouts/operator/operator-accounts';
import { type MilestoneTier } from '../../rewards/economics/rate';
import { payoutAttemptLive } from '../donation-ingester';
import { appendReceiveRecord, classifyReceive, receiveRecordEvents } from '../receive-record';
import { type DonationRebuildReport } from './rebuild-donations.command';

/** How long a rebuild waits for the operator lock (as the ingester does). */
const LOCK_WAIT_MS = 2_000;
/** Entries per `account_history` page: a raw page of 500 is about half a megabyte, within the client's bound. */
const HISTORY_PAGE_SIZE_DEFAULT = 500;
/**
 * The longest chain a rebuild reads. It holds the operator lock (no payout, no receive) while it
 * reads, so a chain longer than this is refused rather than read for minutes.
 */
const HISTORY_BLOCKS_MAX_DEFAULT = 200_000;
/** Appends of one record tried again after another writer moved the stream (SPEC §3). */
const APPEND_ATTEMPTS_MAX = 3;

export interface DonationRebuilderOptions {
  /** Senders whose sends are FundingReceived (treasury.fundingAddresses). */
  readonly fundingAddresses: readonly string[];
  /** The milestone tiers a donation may reach (economics.milestones). */
  readonly milestones: readonly MilestoneTier[];
  readonly historyPageSizeMax?: number;
  readonly historyBlocksMax?: number;
  readonly now?: () => Date;
}

/** A receive on the chain that the operator stream does not record, ready to be appended. */
interface MissingReceive {
  readonly kind: 'DonationReceived' | 'FundingReceived';
  readonly data: ReceiveRecordedData;
}

interface Scan {
  readonly blocksScanned: number;
  readonly receivesFound: number;
  /** Oldest first, the order the chain received them in, so milestones fall where they did. */
  readonly missing: readonly MissingReceive[];
}

/**
 * The admin donation rebuild (SPEC §4.5): reads the operator account's whole chain with
 * `account_history` (raw, oldest first) and appends DonationReceived or FundingReceived, with any
 * MilestoneReached, for each receive whose send the operator stream does not record yet. It
 * records what the chain already holds, so it signs and publishes nothing.
 *
 * It never deletes and never counts a send twice: a send is skipped when the stream records it,
 * whichever receive stands for it; the records are the ingester's own (receiveRecordEvents, event
 * ids derived from the send hash) and each is appended with the revision it was decided on. It
 * holds OPERATOR_ACCOUNT_LOCK, so neither the ingester nor the payout executor signs a block while
 * it reads and appends. Every node call is made before the first append, so a node failure leaves
 * the stream as it was.
 */
export class DonationRebuilder {
  private readonly fundingAddresses: ReadonlySet<string>;
  private readonly pageSizeMax: number;
  private readonly blocksMax: number;
  private readonly now: () => Date;

  constructor(
    private readonly pool: DatabasePool,
    private readonly store: EventStore,
    private readonly rpc: BananoRpcClient,
    private readonly seeds: OperatorSeedSource,
    private readonly options: DonationRebuilderOptions,
    /** The process's accounts (OPERATOR_ACCOUNTS); by default an instance of its own, as another process's. */
    private readonly accounts: OperatorAccounts = new OperatorAccounts(pool, store),
  ) {
    this.fundingAddresses = new Set(options.fundingAddresses);
    this.pageSizeMax = options.historyPageSizeMax ?? HISTORY_PAGE_SIZE_DEFAULT;
    this.blocksMax = options.historyBlocksMax ?? HISTORY_BLOCKS_MAX_DEFAULT;
    this.now = options.now ?? (() => new Date());
    assert(Number.isSafeInteger(this.pageSizeMax) && this.pageSizeMax >= 1 && this.pageSizeMax <= 1000, 'historyPageSizeMax must be 1 to 1000');
    assert(Number.isSafeInteger(this.blocksMax) && this.blocksMax >= 1, 'historyBlocksMax must be a positive integer');
  }

  /**
   * One rebuild. The payout executor takes the operator lock for a moment on every run; the rebuild
   * waits for such a moment to end, and only a lock held longer than LOCK_WAIT_MS refuses it.
   */
  async rebuild(metadata: CommandMetadata): Promise<DonationRebuildReport> {
    const account = await requireOperatorAccount(this.seeds, 'there is no operator account to rebuild; nothing was appended');
    const report = await withAdvisoryLockWithin(this.pool, OPERATOR_ACCOUNT_LOCK, LOCK_WAIT_MS, () => this.rebuildUnderLock(account, metadata));
    if (report === null) {
      throw new DomainError('operator_account_busy', 'Another writer of the operator account holds its lock; nothing was appended. Try again shortly', 409);
    }
    return report;
  }

  /** The rebuild itself. The caller holds OPERATOR_ACCOUNT_LOCK. */
  private async rebuildUnderLock(account: OperatorAccount, metadata: CommandMetadata): Promise<DonationRebuildReport> {
    const reader = new OperatorStreamReader(this.store);
    await this.accounts.signingFor(account.address);
    const elsewhere = await this.accounts.donationsElsewhere(account.address);
    let operator = await reader.load(account.address);
    const scan = await this.fromNode(async () => {
      await this.refuseWhileBlockInFlight(account.address, operator);
      return this.scan(account.address, operator, elsewhere);
    });

    const appended = { donations: 0, funding: 0, milestones: 0 };
    const appendedSendHashes: string[] = [];
    for (const receive of scan.missing) {
      for (let attempt = 1; ; attempt += 1) {
        // Recorded by a writer that got to the stream first: the send is counted once, by that record.
        if (operator.receivedSends.has(receive.data.sendHash)) break;
        const events = this.recordEvents(account.address, operator, elsewhere, receive, metadata);
        const done = await appendReceiveRecord(this.store, account.address, operator, events);
        operator = await reader.load(account.address);
        if (done) {
          // Counted only when the stream now says this receive stands for the send: an event id it
          // already held would have been answered without appending.
          if (operator.receivedSends.get(receive.data.sendHash)?.receiveHash === receive.data.receiveHash) {
            if (receive.kind === 'DonationReceived') appended.donations += 1;
            else appended.funding += 1;
            appended.milestones += events.length - 1;
            appendedSendHashes.push(receive.data.sendHash);
          }
          break;
        }
        if (attempt >= APPEND_ATTEMPTS_MAX) {
          throw new DomainError('concurrency_conflict', `The operator stream kept changing; ${appendedSendHashes.length} receives were appended. Try again`, 409);
        }
      }
    }
    return {
      operatorAddress: account.address,
      blocksScanned: scan.blocksScanned,
      receivesFound: scan.receivesFound,
      alreadyRecorded: scan.receivesFound - appendedSendHashes.length,
      appended,
      appendedSendHashes,
    };
  }

  /**
   * The block the operator signed last must not be in flight. If it may still be published (the
   * ingester or the executor resolves it before signing anything else), a receive recorded after
   * it would become the block signed last and hide it from them. It is not in flight when it is on
   * the chain, when it can never apply (the account's frontier is no longer its previous: a block
   * was signed beside it), or, for a payout block, when the user stream records its attempt ended.
   * A receive the node refused, at the frontier still, is not told from one not yet published.
   */
  private async refuseWhileBlockInFlight(address: string, operator: OperatorState): Promise<void> {
    const last = operator.lastSignedBlock;
    if (last === null) return;
    const hash = signedBlockHash(last);
    if ((await this.rpc.blockInfo(hash)) !== null) return;
    const frontier = (await this.rpc.accountInfo(address))?.frontier ?? OPEN_PREVIOUS;
    if (frontier.toUpperCase() !== last.block.previous.toUpperCase()) return;
    if (last.kind === 'payout' && !(await payoutAttemptLive(this.store, last))) return;
    throw new DomainError(
      'block_in_flight',
      `The block the operator signed last (${hash}) is not on the chain yet; nothing was appended. Try again once it is published`,
      409,
      { blockHash: hash },
    );
  }

  /** Reads the chain from the frontier back to the opening block and keeps the receives the stream does not record. */
  private async scan(address: string, operator: OperatorState, elsewhere: DonationsElsewhere): Promise<Scan> {
    let chain: HistoryEntry[];
    try {
      chain = await readAccountChain(this.rpc, address, { pageSize: this.pageSizeMax, blocksMax: this.blocksMax });
    } catch (error) {
      if (error instanceof InconsistentHistoryError) throw inconsistentHistory(error.message);
      if (error instanceof ChainTooLongError) {
        throw new DomainError('operator_history_too_long', `The operator chain has more than ${error.blocksMax} blocks; nothing was appended`, 422);
      }
      throw error;
    }
    const receives = chain.filter(isReceive);
    const missing: MissingReceive[] = [];
    for (const entry of receives) {
      if (!operator.receivedSends.has(entry.link)) missing.push(await this.missingReceive({ address, operator }, entry, elsewhere));
    }
    return { blocksScanned: chain.length, receivesFound: receives.length, missing: missing.reverse() };
  }

  /** The record of a receive the chain holds, with the block as the node stored it. */
  private async missingReceive(
    receiving: { readonly address: string; readonly operator: OperatorState },
    entry: HistoryEntry,
    elsewhere: DonationsElsewhere,
  ): Promise<MissingReceive> {
    const { address } = receiving;
    const block = stateBlockOf(address, entry);
    if (hashOf(block) !== entry.hash) throw inconsistentHistory(`the fields of block ${entry.hash} do not hash to it`);
    if (entry.amountRaw <= 0n) throw inconsistentHistory(`receive ${entry.hash} has no positive amount`);
    // The node names the sender of a receive when it still knows the send; otherwise it is asked.
    const sender = entry.account ?? (await this.rpc.blockInfo(entry.link))?.account ?? null;
    if (sender === null) throw inconsistentHistory(`the sender of receive ${entry.hash} is unknown`);
    // A node that does not know when it took a block says 0; the rebuild's own time is nearer.
    const receivedAt = entry.localTimestamp === 0n ? this.now() : new Date(Number(entry.localTimestamp) * 1000);
    const { kind, returned } = classifyReceive({ hash: entry.link, sender }, receiving, elsewhere, this.fundingAddresses);
    return {
      kind,
      data: {
        sendHash: entry.link,
        sender,
        amountRaw: entry.amountRaw.toString(),
        receiveHash: entry.hash,
        previous: entry.previous,
        block,
        receivedAt: receivedAt.toISOString(),
        ...returned,
      },
    };
  }

  /** The ingester's records for this receive, with the admin's metadata (actor, client IP). */
  private recordEvents(address: string, operator: OperatorState, elsewhere: DonationsElsewhere, receive: MissingReceive, metadata: CommandMetadata): NewEvent[] {
    const { correlationId, causationId: _causationId, actor, ...extra } = metadata;
    return receiveRecordEvents({ address, operator, elsewhere, kind: receive.kind, data: receive.data, tiers: this.options.milestones, actor, correlationId }).map(
      (event) => ({ ...event, metadata: { ...extra, ...event.metadata } }),
    );
  }

  /** Runs the node calls of a rebuild; a node that cannot answer them refuses the rebuild. */
  private async fromNode<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof BananoNodeError)) throw error;
      throw new DomainError('banano_node_unavailable', `The Banano node could not give the operator's chain: ${error.message}; nothing was appended`, 503);
    }
  }
}

/** Receives and the opening receive; an epoch or change block has no send behind it. */
function isReceive(entry: HistoryEntry): boolean {
  return entry.type === 'receive' || entry.type === 'open';
}

/** The node's history does not add up; the rebuild records nothing from it. */
function inconsistentHistory(detail: string): DomainError {
  return new DomainError('banano_node_unavailable', `The Banano node answered an inconsistent history (${detail}); nothing was appended`, 503);
}
