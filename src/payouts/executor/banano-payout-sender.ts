import { v5 as uuidv5 } from 'uuid';
import { type PayoutRetryPolicy, type PayoutState } from '../../identity/user/user.decider';
import { loadUser, runUserCommand } from '../../identity/user/run-user-command';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore, WrongExpectedRevisionError } from '../../platform/event-store/event-store.port';
import { failpoint } from '../../platform/runtime/failpoint';
import { type BananoRpcClient } from '../banano/banano-rpc.client';
import { assertBalanceIsFrontiers, assertFrontierNotBehind } from '../banano/frontier-checks';
import { publishBlock } from '../banano/publish-block';
import { buildSendBlock, withWork } from '../banano/state-block';
import { UnclearCopies } from '../banano/unclear-copies';
import { type OperatorAccounts } from '../operator/operator-accounts';
import { type OperatorAccount, operatorAccount, type OperatorSeedSource } from '../operator/operator-seed';
import {
  OPERATOR_EVENT_SCHEMA_VERSION,
  OperatorStreamReader,
  operatorStream,
  type OperatorState,
  type PayoutBlockSigned,
  type SignedPayoutBlock,
} from '../operator/operator.events';
import { publishRecordedReceive } from '../../treasury/donation-ingester';
import { executorMetadata, type PayoutSender, type PendingPayout, type SendOutcome } from './payout-executor';

/** Namespace of the PayoutBlockSigned event ids: one id per payout attempt, so a repeated append is the same event. */
const SIGNED_EVENT_NAMESPACE = '5b0c3f55-2a47-4d8e-9a0e-7c1f6d2b8e43';

export interface BananoPayoutSenderOptions {
  readonly retryPolicy: PayoutRetryPolicy;
  /** How many times one run publishes the same block after ambiguous failures before leaving it to the next run. */
  readonly publishTriesMax: number;
  /** The copies in doubt of the operator's blocks, on the service's database. */
  readonly unclear: UnclearCopies;
  /** The operator balance no payout may spend (payout.minOperatorBalanceBan, as an admin set it last), read once a run. */
  readonly minOperatorBalanceRaw: () => Promise<bigint>;
  readonly now?: () => Date;
}

/**
 * The live gateway (SPEC §4.4 steps 2–6). Per payout attempt it signs exactly one send block, on
 * the operator's frontier, and records it on the operator stream (with the expected revision)
 * before it publishes it. From then on that attempt only ever publishes that same block, asking
 * `block_info` first whenever it cannot know whether the node took it. Only a definite refusal,
 * with the block provably absent, ends an attempt; the next attempt signs anew.
 *
 * One block at a time per operator account: the block signed last must be resolved (sent, or
 * refused and recorded as a failed attempt) before another is signed, which `prepare` makes sure
 * of after a crash. It does the same for every account the operator seed named before
 * (OperatorAccounts), whose block may still be in flight when the seed changes: a payout's
 * attempt is finished with the block that was signed for it, whichever account signed it.
 */
export class BananoPayoutSender implements PayoutSender {
  readonly mode = 'live';
  readonly looksAt = ['live', 'dry-run'] as const;
  /** Every block names the previous one of the operator account's chain: one payout at a time. */
  readonly sendsAtOnceMax = 1;
  private account: OperatorAccount | null = null;
  private waitingForSeed = false;
  private readonly operatorReader: OperatorStreamReader;
  /** Recorded receives the node refused, not offered again by this process. */
  private readonly refusedReceives = new Set<string>();
  /** The streams of the accounts the operator seed named before, as `prepare` read them. */
  private former: OperatorState[] = [];
  private readonly now: () => Date;
  /** The copies in doubt of the operator's blocks (SPEC §4.4.4): a refusal then needs more. */
  private readonly unclear: UnclearCopies;
  /** The floor in force, as `prepare` read it. */
  private floorRaw = 0n;

  constructor(
    private readonly store: EventStore,
    private readonly rpc: BananoRpcClient,
    private readonly seeds: OperatorSeedSource,
    private readonly accounts: OperatorAccounts,
    private readonly options: BananoPayoutSenderOptions,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
  ) {
    this.now = options.now ?? (() => new Date());
    this.unclear = options.unclear;
    this.operatorReader = new OperatorStreamReader(store);
  }

  async prepare(): Promise<{ ready: boolean; resumed: SendOutcome[] }> {
    this.account = await operatorAccount(this.seeds);
    if (this.account === null) {
      // Said once, not on every run, until a seed appears.
      if (!this.waitingForSeed) this.log('payouts wait: operator_seed_not_configured');
      this.waitingForSeed = true;
      return { ready: false, resumed: [] };
    }
    this.waitingForSeed = false;
    this.floorRaw = await this.options.minOperatorBalanceRaw();
    await this.accounts.signingFor(this.account.address);
    // A block an account the seed named before signed may be in flight too: finished first, by
    // the same rules, so the current account never signs a second block for its payout.
    this.former = await this.accounts.formerThan(this.account.address);
    const resumed: SendOutcome[] = [];
    for (const operator of [...this.former, await this.operatorReader.load(this.account.address)]) {
      const finished = await this.finishLastBlock(operator);
      if (finished !== null) resumed.push(finished);
      if (finished === 'unresolved') return { ready: false, resumed };
    }
    return { ready: true, resumed };
  }

  /**
   * Finishes the block an account signed last when it may be in flight from before a crash or an
   * unanswered publish. Null when there was none; `unresolved` when the node did not say.
   */
  private async finishLastBlock(operator: OperatorState): Promise<SendOutcome | null> {
    const lastBlock = operator.lastSignedBlock;
    if (lastBlock?.kind === 'receive' && !this.refusedReceives.has(lastBlock.receiveHash)) {
      // A donation's receive recorded but maybe not published moves the frontier too: it is
      // finished first, or nothing is signed (SPEC §4.5). One the node refused is not in flight:
      // payouts go on, and this process does not offer it again (see DonationIngester).
      const received = await publishRecordedReceive(this.rpc, lastBlock, {
        fresh: false,
        unclear: this.unclear,
        publishTriesMax: this.options.publishTriesMax,
        log: this.log,
      });
      if (received === 'unresolved') return 'unresolved';
      if (received === 'refused') this.refusedReceives.add(lastBlock.receiveHash);
    }
    if (operator.lastSigned === null) return null;
    const payout = await this.payoutOf(operator.lastSigned);
    if (payout === null || !this.belongsToCurrentAttempt(payout, operator.lastSigned)) return null;
    return this.publish(operator.lastSigned, { fresh: false });
  }

  async send(pending: PendingPayout): Promise<SendOutcome> {
    const account = this.account;
    if (account === null) throw new Error('prepare() before send()');
    const payout = await this.payoutOf(pending);
    if (payout === null || payout.status !== 'requested') return 'skipped';
    if (payout.gateway === 'dry-run') {
      // Planned against the simulated balance of a dry run: it is failed at once, not signed, so
      // an admin decides. A cancel gives its kills back to be settled live.
      return this.recordFailure(pending, payout.attempts + 1, 'requested_in_dry_run: planned against the simulated balance; cancel it to settle its kills live', null, {
        ...this.options.retryPolicy,
        maxAttempts: 1,
      });
    }
    const operator = await this.operatorReader.load(account.address);
    const attempt = payout.attempts + 1;
    const signers = [operator, ...this.former];
    const blocks = signers.flatMap((signer) => signer.signedByPayout.get(payout.payoutId) ?? []);
    const current = blocks.find((block) => block.attempt === attempt);
    if (current !== undefined) return this.publish(current, { fresh: false });
    if (payout.nextAttemptAt !== null && Date.parse(payout.nextAttemptAt) > this.now().getTime()) return 'skipped';
    // Every earlier block of this payout was refused; make sure none is on the chain after all. A
    // block another payout signed again since (the same amount, address and frontier) is that
    // payout's now: its copy on the chain pays that one (see OperatorState.payoutOfBlock).
    for (const earlier of blocks) {
      if (!signers.some((signer) => signer.payoutOfBlock.get(earlier.blockHash) === payout.payoutId)) continue;
      if ((await this.rpc.blockInfo(earlier.blockHash)) !== null) {
        await this.unclear.settled(earlier.blockHash);
        return this.recordSent(earlier);
      }
    }
    return this.signAndPublish(account, operator, pending, payout, attempt);
  }

  private async signAndPublish(
    account: OperatorAccount,
    operator: OperatorState,
    pending: PendingPayout,
    payout: PayoutState,
    attempt: number,
  ): Promise<SendOutcome> {
    const info = await this.rpc.accountInfo(account.address);
    const head = info === null ? null : await this.rpc.blockInfo(info.frontier);
    // Before anything is judged by the node's view of the account: a lagging node's view would
    // fail the attempt for a balance it has not caught up with, or fork the chain (frontier-checks).
    await assertFrontierNotBehind(this.rpc, this.store, operator, this.refusedReceives, info, head);
    const balance = info?.balanceRaw ?? 0n;
    // The floor holds when the payout is sent too, not only when a run planned it (SPEC §4.3): the
    // balance may have fallen since (spent outside the ledger), or the account be another one (a
    // seed changed after planning, or between two attempts), whose balance no run looked at.
    if (info === null || balance - payout.amountRaw < this.floorRaw) {
      return this.recordFailure(
        pending,
        attempt,
        `insufficient_operator_balance: ${balance} raw, payout ${payout.amountRaw} raw, floor ${this.floorRaw} raw`,
        null,
      );
    }
    // The amount the node reads off the block is the frontier's balance less the block's.
    assertBalanceIsFrontiers(account.address, info, head);
    const { block: unworked, hash } = await buildSendBlock({
      privateKey: account.privateKey,
      previous: info.frontier,
      representative: info.representative,
      balanceBeforeRaw: info.balanceRaw,
      amountRaw: payout.amountRaw,
      destination: payout.address,
    });
    const block = withWork(unworked, await this.rpc.workGenerate(info.frontier));
    const signed: SignedPayoutBlock = { payoutId: payout.payoutId, userId: pending.userId, attempt, blockHash: hash, block };
    const event: PayoutBlockSigned = {
      type: 'PayoutBlockSigned',
      data: {
        payoutId: payout.payoutId,
        userId: pending.userId,
        attempt,
        blockHash: hash,
        previous: info.frontier,
        destination: payout.address,
        amountRaw: payout.amountRaw.toString(),
        block,
        signedAt: this.now().toISOString(),
      },
    };
    try {
      await this.store.appendToStream(
        operatorStream(account.address),
        [
          {
            id: uuidv5(`${payout.payoutId}:${attempt}`, SIGNED_EVENT_NAMESPACE),
            type: event.type,
            data: event.data,
            metadata: { ...executorMetadata(payout.payoutId), schemaVersion: OPERATOR_EVENT_SCHEMA_VERSION },
          },
        ],
        { expectedRevision: operator.revision ?? 'no_stream' },
      );
    } catch (error) {
      // Another writer moved the operator stream since we read it; this block was never recorded,
      // so it is never published. The next run reads the stream again.
      if (error instanceof WrongExpectedRevisionError) return 'unresolved';
      throw error;
    }
    failpoint('payout-block-signed');
    return this.publish(signed, { fresh: true });
  }

  /**
   * Publishes the signed block until the node says it has it or refuses it (publishBlock). A block
   * recorded in an earlier run may have reached the node already, so `block_info` is asked first
   * (§4.4.4). Only a definite refusal, with the block provably absent, fails the attempt.
   */
  private async publish(signed: SignedPayoutBlock, options: { readonly fresh: boolean }): Promise<SendOutcome> {
    const outcome = await publishBlock(
      this.rpc,
      { hash: signed.blockHash, block: signed.block, subtype: 'send' },
      {
        fresh: options.fresh,
        publishTriesMax: this.options.publishTriesMax,
        unclear: this.unclear,
        log: this.log,
        logAs: { subject: 'payout block', fields: { payoutId: signed.payoutId, blockHash: signed.blockHash } },
        // Killed here, the block is on the chain and the ledger does not say so yet: the next run finds it.
        onPublished: () => failpoint('payout-block-published'),
      },
    );
    if (outcome === 'already_landed' || outcome === 'landed') return this.recordSent(signed);
    if (outcome === 'unresolved') return 'unresolved';
    return this.recordFailure(signed, signed.attempt, outcome.refused, signed.blockHash);
  }

  /** Records a block on the chain as the payout sent; its copies in doubt are settled already. */
  private async recordSent(signed: SignedPayoutBlock): Promise<SendOutcome> {
    try {
      const decision = await runUserCommand(
        this.store,
        signed.userId,
        { type: 'RecordPayoutSent', data: { payoutId: signed.payoutId, gateway: 'live', blockHash: signed.blockHash, now: this.now() } },
        executorMetadata(signed.payoutId),
      );
      failpoint('payout-sent');
      return decision.events.length > 0 ? 'sent' : 'skipped';
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A cancelled payout's block on the chain: never quietly accepted (see the decider).
      this.log('payout block on chain but not recordable', { payoutId: signed.payoutId, blockHash: signed.blockHash, code: error.code });
      return 'skipped';
    }
  }

  private async recordFailure(
    payout: PendingPayout,
    attempt: number,
    error: string,
    blockHash: string | null,
    policy: PayoutRetryPolicy = this.options.retryPolicy,
  ): Promise<SendOutcome> {
    this.log('payout attempt failed', { payoutId: payout.payoutId, attempt, error });
    await runUserCommand(
      this.store,
      payout.userId,
      {
        type: 'RecordPayoutAttemptFailed',
        data: { payoutId: payout.payoutId, attempt, error, blockHash, policy, now: this.now() },
      },
      executorMetadata(payout.payoutId),
    );
    return 'failed';
  }

  /** The block is the payout's live attempt: neither sent nor refused yet. */
  private belongsToCurrentAttempt(payout: PayoutState, signed: SignedPayoutBlock): boolean {
    return payout.status === 'requested' && payout.attempts + 1 === signed.attempt;
  }

  private async payoutOf(pending: PendingPayout): Promise<PayoutState | null> {
    const user = await loadUser(this.store, pending.userId);
    if (user.status !== 'registered') return null;
    return user.payouts.get(pending.payoutId) ?? null;
  }

}
