import { randomUUID } from 'node:crypto';
import { type DatabasePool } from 'slonik';
import { loadUser } from '../identity/user/run-user-command';
import { withAdvisoryLockWithin } from '../platform/database/advisory-lock';
import { type EventStore } from '../platform/event-store/event-store.port';
import { failpoint } from '../platform/runtime/failpoint';
import { PeriodicTask, repeatedFields } from '../platform/runtime/periodic-task';
import { type BananoRpcClient, type ReceivableBlock } from '../payouts/banano/banano-rpc.client';
import { assertBalanceIsFrontiers, assertFrontierNotBehind } from '../payouts/banano/frontier-checks';
import { publishBlock } from '../payouts/banano/publish-block';
import { buildReceiveBlock, OPEN_PREVIOUS, publicKeyOfAccount, withWork } from '../payouts/banano/state-block';
import { UnclearCopies } from '../payouts/banano/unclear-copies';
import { OPERATOR_ACCOUNT_LOCK } from '../payouts/executor/payout-executor';
import { type DonationsElsewhere, OperatorAccounts } from '../payouts/operator/operator-accounts';
import { type OperatorAccount, operatorAccount, type OperatorSeedSource } from '../payouts/operator/operator-seed';
import { type MilestoneTier } from '../rewards/economics/rate';
import {
  OperatorStreamReader,
  type OperatorState,
  type ReceiveRecordedData,
  type SignedPayoutBlock,
  type SignedReceiveBlock,
} from '../payouts/operator/operator.events';
import { appendReceiveRecord, classifyReceive, receiveRecordEvents } from './receive-record';
import { messageOf } from '../platform/errors/message-of';

/** The process's DonationIngester, or null in dry-run (TreasuryModule). */
export const DONATION_INGESTER = Symbol('DONATION_INGESTER');

/** How long a pass waits for the operator lock. */
const LOCK_WAIT_MS = 2_000;
/**
 * The largest `receivable` page a pass asks for: the most the RPC client asks for in one call. The
 * recorded sends still receivable (refused receives) take up room in it, so more of those than this
 * leave no room for a send not yet recorded; the pass then says so in the log.
 */
const RECEIVABLE_READ_COUNT_MAX = 1_000;
/** `receivable` calls per pass: the page is asked for again, larger, at most this many times in all. */
const RECEIVABLE_READS_MAX = 3;
/** Send hashes named in the one log line a pass writes about recorded sends still receivable. */
const SKIPPED_LOGGED_MAX = 20;

/**
 * What became of a recorded receive block: `pocketed` (the node took it now); `already_pocketed`
 * (the node had it before this call, from an earlier run); `refused` (definitely
 * refused, provably absent, and no copy published without a clear answer may still land: the
 * block is dead, never published again, and may be replaced);
 * `unresolved` (the node did not say: the block may still land, so nothing else is signed).
 */
export type ReceiveOutcome = 'pocketed' | 'already_pocketed' | 'refused' | 'unresolved';

type Log = (message: string, fields?: Record<string, unknown>) => void;

/**
 * Publishes a recorded receive block until the node has it or refuses it, by the payout rules of
 * SPEC §4.4.4 (publishBlock, the payout sender's loop too): a block recorded in an earlier run may
 * have reached the node already, so `block_info` is asked first, and after an ambiguous failure
 * only this same block is published again. Shared by the ingester and by the payout sender's resume
 * of the block signed last.
 */
export async function publishRecordedReceive(
  rpc: BananoRpcClient,
  signed: SignedReceiveBlock,
  options: { readonly fresh: boolean; readonly publishTriesMax: number; readonly log: Log; readonly unclear: UnclearCopies },
): Promise<ReceiveOutcome> {
  const outcome = await publishBlock(
    rpc,
    { hash: signed.receiveHash, block: signed.block, subtype: signed.block.previous === OPEN_PREVIOUS ? 'open' : 'receive' },
    { ...options, logAs: { subject: 'receive', fields: { sendHash: signed.sendHash, receiveHash: signed.receiveHash } } },
  );
  if (outcome === 'already_landed') return 'already_pocketed';
  if (outcome === 'landed') return 'pocketed';
  if (outcome === 'unresolved') return 'unresolved';
  options.log('receive refused by the node', { sendHash: signed.sendHash, receiveHash: signed.receiveHash, error: outcome.refused });
  return 'refused';
}

/**
 * The attempt `signed` was signed for is not ended by a refusal the user stream records, so the
 * executor may still publish that block, and a block signed beside it would fork it. The caller
 * has seen it absent from the chain. Shared by the ingester and the donations rebuild.
 */
export async function payoutAttemptLive(store: EventStore, signed: SignedPayoutBlock): Promise<boolean> {
  const user = await loadUser(store, signed.userId);
  if (user.status !== 'registered') return false;
  const payout = user.payouts.get(signed.payoutId);
  return payout !== undefined && payout.status === 'requested' && payout.attempts + 1 === signed.attempt;
}

export interface DonationIngesterOptions {
  /** Senders whose sends are FundingReceived (treasury.fundingAddresses). */
  readonly fundingAddresses: readonly string[];
  readonly intervalMs: number;
  /**
   * Sends not yet recorded that one run pockets; the rest wait for the next run. The page read holds
   * this many more than the recorded sends still receivable, up to RECEIVABLE_READ_COUNT_MAX.
   */
  readonly receivableCountMax: number;
  /** Publishing the same block after ambiguous failures, per run. */
  readonly publishTriesMax: number;
  /** The milestone tiers a donation may reach (economics.milestones). */
  readonly milestones: readonly MilestoneTier[];
  /** How long a receive's copy in doubt may still land (banano.landingWindowMs; UnclearCopies). */
  readonly landingWindowMs: number;
  readonly now?: () => Date;
  /**
   * Told of every scheduled run that failed: one that threw, whether or not its log line was left
   * out as a repeat. A run that stopped early (IngestResult.stoppedBy) or whose receive the node
   * refused has not failed; runOnce()'s callers (a settlement run) have their own failures.
   */
  readonly runFailed?: () => void;
}

export interface IngestResult {
  /** Sends newly recorded (DonationReceived or FundingReceived). */
  readonly recorded: number;
  /** Receive blocks the node took in this run, resumed ones included. */
  readonly pocketed: number;
  /** Why the run did nothing or stopped early; null when it went through. */
  readonly stoppedBy: 'operator_account_busy' | 'operator_seed_not_configured' | 'block_in_flight' | 'stream_moved' | null;
}

/**
 * The donation ingester (SPEC §4.5): pockets the operator account's receivable sends.
 *
 * For each send not yet recorded it signs one receive block on the node's frontier (the block that
 * opens the account when it is not opened), records it on the operator stream with the expected
 * revision, keyed by the send hash, and only then publishes it. A send is recorded at most once:
 * the event id is derived from the send hash, the append states the revision it read, and every
 * writer of the operator account holds OPERATOR_ACCOUNT_LOCK, the payout executor's lock, so
 * receives and payout sends are never signed at the same time. The block signed last, of either
 * kind, is resolved before another is signed.
 *
 * A recorded receive that the node definitely refused (and that is provably absent) is not signed
 * again and its send is never recorded again: it stays counted once by its DonationReceived or
 * FundingReceived while the chain still shows it receivable, and each pass logs it; reconciliation
 * reports it (recorded_receive_not_on_chain) as a receive the ledger counts and the chain lacks.
 * A refusal of a block signed under the operator lock on the current frontier means something else
 * signs for the account, which is for an operator to look at, not for the ingester to work around.
 * The process that saw the refusal does not offer the block again; after a restart it is offered
 * once more, which is harmless: it is the send's one recorded receive, and the node taking it is
 * right.
 *
 * Such sends stay in the node's `receivable` answer, which lists at most `count` sends in the
 * node's own order (not by age), so they must not take the room of the sends not yet recorded:
 * see readReceivable.
 */
export class DonationIngester {
  private readonly schedule: PeriodicTask<IngestResult>;
  private readonly now: () => Date;
  private readonly fundingAddresses: ReadonlySet<string>;
  private readonly operatorReader: OperatorStreamReader;
  /** Recorded receives the node refused, not offered again by this process. */
  private readonly refused = new Set<string>();
  /** The copies in doubt of the operator's blocks (SPEC §4.4.4): a refusal then needs more. */
  private readonly unclear: UnclearCopies;
  /** Recorded sends the last pass found still receivable: the room the next page makes for them. */
  private skippedLastPass = 0;

  constructor(
    private readonly pool: DatabasePool,
    private readonly store: EventStore,
    private readonly rpc: BananoRpcClient,
    private readonly seeds: OperatorSeedSource,
    private readonly options: DonationIngesterOptions,
    private readonly log: Log = () => undefined,
    /** The process's accounts (OPERATOR_ACCOUNTS); by default an instance of its own, as another process's. */
    private readonly accounts: OperatorAccounts = new OperatorAccounts(pool, store),
  ) {
    this.now = options.now ?? (() => new Date());
    this.unclear = new UnclearCopies(pool, options.landingWindowMs);
    this.fundingAddresses = new Set(options.fundingAddresses);
    this.operatorReader = new OperatorStreamReader(store);
    this.schedule = new PeriodicTask(
      () => this.ingestUnderLock(),
      options.intervalMs,
      (error, repeats) => this.log('donation ingester run failed', { error: messageOf(error), ...repeatedFields(repeats) }),
      { runFailed: options.runFailed },
    );
  }

  start(): void {
    this.schedule.start(0);
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  /** One pass over the receivable sends; a run already going here is joined, one elsewhere skips this one. */
  runOnce(): Promise<IngestResult> {
    return this.schedule.runOnce();
  }

  /**
   * The payout executor takes the operator lock for a moment on every run (each second by
   * default); a pass waits for such a moment to end rather than lose its turn for a whole interval.
   * Only a lock held longer than LOCK_WAIT_MS (another ingester, a long payout run) skips the pass.
   */
  private async ingestUnderLock(): Promise<IngestResult> {
    const result = await withAdvisoryLockWithin(this.pool, OPERATOR_ACCOUNT_LOCK, LOCK_WAIT_MS, () => this.ingest(), () => this.schedule.stopping);
    return result ?? { recorded: 0, pocketed: 0, stoppedBy: 'operator_account_busy' };
  }

  /** The pass itself. The caller holds OPERATOR_ACCOUNT_LOCK. */
  private async ingest(): Promise<IngestResult> {
    const account = await operatorAccount(this.seeds);
    if (account === null) return { recorded: 0, pocketed: 0, stoppedBy: 'operator_seed_not_configured' };
    await this.accounts.signingFor(account.address);
    // Under the lock nothing is recorded for any other account, so this holds for the whole pass.
    const elsewhere = await this.accounts.donationsElsewhere(account.address);
    let operator = await this.operatorReader.load(account.address);
    let recorded = 0;
    let pocketed = 0;

    // The block signed last may be in flight from before a crash: finish it before anything else.
    const last = operator.lastSignedBlock;
    if (last?.kind === 'receive' && !this.refused.has(last.receiveHash)) {
      const outcome = await publishRecordedReceive(this.rpc, last, { fresh: false, publishTriesMax: this.options.publishTriesMax, log: this.log, unclear: this.unclear });
      if (outcome === 'unresolved') return { recorded, pocketed, stoppedBy: 'block_in_flight' };
      if (outcome === 'pocketed') pocketed += 1;
      if (outcome === 'refused') this.refused.add(last.receiveHash);
    } else if (last?.kind === 'payout' && (await this.rpc.blockInfo(last.blockHash)) === null && (await payoutAttemptLive(this.store, last))) {
      // The executor publishes it on its next run; a receive signed now would fork it.
      return { recorded, pocketed, stoppedBy: 'block_in_flight' };
    }

    const receivable = await this.readReceivable(account.address, operator);
    for (const send of receivable) {
      if (this.schedule.stopping) break;
      // readReceivable left out the recorded sends; nothing else records one while the lock is held.
      if (operator.receivedSends.has(send.hash)) continue;
      const signed = await this.signReceive(account, send, operator, elsewhere);
      if (signed === null) return { recorded, pocketed, stoppedBy: 'stream_moved' };
      recorded += 1;
      failpoint('donation-recorded');
      const outcome = await publishRecordedReceive(this.rpc, signed, { fresh: true, publishTriesMax: this.options.publishTriesMax, log: this.log, unclear: this.unclear });
      if (outcome === 'unresolved') return { recorded, pocketed, stoppedBy: 'block_in_flight' };
      if (outcome === 'pocketed') pocketed += 1;
      if (outcome === 'refused') this.refused.add(signed.receiveHash);
      // A refused block left the frontier where it was: the next send is signed on it too.
      operator = await this.operatorReader.load(account.address);
    }
    return { recorded, pocketed, stoppedBy: null };
  }

  /**
   * Up to receivableCountMax receivable sends that `operator` has not recorded, in the node's order.
   *
   * The recorded sends still receivable (their receive was refused, see the class comment) come back
   * in every answer, and the node lists at most `count` sends, so a page full of them would hide
   * every other send for good. The page is therefore asked for with room for them: as many as the
   * last pass found, plus receivableCountMax. A full page with fewer new sends than that is asked
   * for again with room for the recorded sends it held, so each read asks for more than the one
   * before; at most RECEIVABLE_READS_MAX reads of at most RECEIVABLE_READ_COUNT_MAX sends. Only
   * `count` is used, which every node version reads (`offset` is newer and an older node ignores
   * it), and in the usual case, with as many recorded sends as on the last pass, one read does.
   */
  private async readReceivable(address: string, operator: OperatorState): Promise<ReceivableBlock[]> {
    const perRunMax = this.options.receivableCountMax;
    const recorded = (send: ReceivableBlock) => operator.receivedSends.has(send.hash);
    let count = Math.min(RECEIVABLE_READ_COUNT_MAX, perRunMax + this.skippedLastPass);
    let page = await this.rpc.receivable(address, count);
    for (let reads = 1; reads < RECEIVABLE_READS_MAX && count < RECEIVABLE_READ_COUNT_MAX; reads += 1) {
      const skipped = page.filter(recorded).length;
      if (page.length < count || page.length - skipped >= perRunMax) break;
      // The page is full and holds fewer than perRunMax new sends, so skipped > count - perRunMax:
      // the next count is larger than this one.
      count = Math.min(RECEIVABLE_READ_COUNT_MAX, skipped + perRunMax);
      page = await this.rpc.receivable(address, count);
    }
    const skipped = page.filter(recorded).map((send) => send.hash);
    const fresh = page.filter((send) => !recorded(send));
    this.skippedLastPass = skipped.length;
    if (skipped.length > 0) {
      this.log('recorded donations still receivable: their receive blocks were refused', { count: skipped.length, sendHashes: skipped.slice(0, SKIPPED_LOGGED_MAX) });
    }
    if (fresh.length === 0 && page.length >= RECEIVABLE_READ_COUNT_MAX) {
      // Only an operator can end this: sends past the page wait until fewer receives are refused.
      this.log('receivable page holds only recorded sends: sends past it are not read', { count: page.length });
    }
    return fresh.slice(0, perRunMax);
  }

  /**
   * Signs the receive of `send` on the node's frontier and records it as DonationReceived or
   * FundingReceived. Null when another writer moved the stream: nothing was recorded, nothing is
   * published.
   */
  private async signReceive(
    account: OperatorAccount,
    send: { readonly hash: string; readonly amountRaw: bigint; readonly source: string },
    operator: OperatorState,
    elsewhere: DonationsElsewhere,
  ): Promise<SignedReceiveBlock | null> {
    const info = await this.rpc.accountInfo(account.address);
    const head = info === null ? null : await this.rpc.blockInfo(info.frontier);
    // A receive on a frontier the node is behind on forks the chain, and one on a balance that is
    // not the frontier's claims another amount: refused, the send would stay recorded and
    // receivable, never pocketed (see the class comment). See frontier-checks.
    await assertFrontierNotBehind(this.rpc, this.store, operator, this.refused, info, head);
    if (info !== null) assertBalanceIsFrontiers(account.address, info, head);
    const previous = info?.frontier ?? OPEN_PREVIOUS;
    const { block: unworked, hash: receiveHash } = await buildReceiveBlock({
      privateKey: account.privateKey,
      previous,
      // The operator represents itself until it opens with a representative of its choosing.
      representative: info?.representative ?? account.address,
      balanceBeforeRaw: info?.balanceRaw ?? 0n,
      amountRaw: send.amountRaw,
      sendBlockHash: send.hash,
    });
    const block = withWork(unworked, await this.rpc.workGenerate(info === null ? publicKeyOfAccount(account.address) : info.frontier));
    const { kind, returned } = classifyReceive({ hash: send.hash, sender: send.source }, { address: account.address, operator }, elsewhere, this.fundingAddresses);
    const data: ReceiveRecordedData = {
      sendHash: send.hash,
      sender: send.source,
      amountRaw: send.amountRaw.toString(),
      receiveHash,
      previous,
      block,
      receivedAt: this.now().toISOString(),
      ...returned,
    };
    const events = receiveRecordEvents({
      address: account.address,
      operator,
      elsewhere,
      kind,
      data,
      tiers: this.options.milestones,
      actor: { kind: 'system', name: 'donation-ingester' },
      correlationId: randomUUID(),
    });
    if (!(await appendReceiveRecord(this.store, account.address, operator, events))) return null;
    // A repeated event id is answered idempotently without appending: publish only what the stream
    // now says stands for this send, and only when it is the block just signed.
    const after = await this.operatorReader.load(account.address);
    if (after.receivedSends.get(send.hash)?.receiveHash !== receiveHash) return null;
    return { sendHash: send.hash, receiveHash, block };
  }

}
