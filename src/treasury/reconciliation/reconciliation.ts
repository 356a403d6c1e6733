import { decodeUserEvent, type PayoutGateway } from '../../identity/user/user.events';
import { accountPublicKey, bananoAddressOf } from '../../platform/banano/banano-address';
import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { formatBan } from '../../platform/money';
import { type HistoryEntry, type ReceivableBlock } from '../../payouts/banano/banano-rpc.client';

/*
 * Reconciliation of the ledger with the chain: the pure half. `reconcile.ts` gathers the facts
 * (events, the node's view of the operator account, the payouts read model); the functions here
 * compare them and name every difference with the events it concerns, so an operator can trace
 * each number back to what was recorded. Nothing here does I/O.
 */

/** One recorded event a difference concerns: enough to find it in the store again. */
export interface EventRef {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly eventId: string;
}

export type DifferenceKind =
  /** A send to the operator account is receivable on the chain and the ledger has no record of it. */
  | 'receivable_not_pocketed'
  /** A recorded DonationReceived / FundingReceived whose receive block is not on the operator's chain. */
  | 'recorded_receive_not_on_chain'
  /** A block on the operator's chain that no event of the operator stream signed. */
  | 'unknown_block'
  /** A PayoutBlockSigned whose payout is not PayoutSent with that block (nor refused and absent). */
  | 'payout_signed_unconfirmed'
  /** A PayoutSent whose block is not on the operator's chain. */
  | 'payout_sent_not_on_chain'
  /** A block both sides know, whose amount on the chain differs from the recorded one. */
  | 'amount_mismatch'
  /** A payout's block on the chain, a send to another account than the payout's recorded address. */
  | 'destination_mismatch'
  /** The ledger's wallet balance is not the chain's (in dry-run: not the simulated balance). */
  | 'balance_mismatch'
  /** The head of the chain the ledger's counted blocks make is not the chain's frontier. */
  | 'frontier_mismatch'
  /** Dry-run: the payouts read model disagrees with the user streams about one payout. */
  | 'read_model_mismatch'
  /** Dry-run: the payouts read model has not applied every payout event yet. */
  | 'read_model_behind';

export interface Difference {
  readonly kind: DifferenceKind;
  readonly message: string;
  readonly blockHash?: string;
  /** Signed for balance_mismatch: what the chain holds minus what the ledger says. */
  readonly amountRaw?: string;
  readonly amountBan?: string;
  /** payout_signed_unconfirmed: whether the signed block is on the operator's chain. */
  readonly onChain?: boolean;
  /** The events the difference concerns; empty when the ledger has none (an unknown block). */
  readonly events: readonly EventRef[];
}

export interface ReconciliationReport {
  readonly mode: 'live' | 'dry-run';
  readonly operatorAddress: string | null;
  readonly checkedAt: string;
  /** True only when `differences` is empty. */
  readonly inBalance: boolean;
  readonly ledger: { readonly balanceRaw: string; readonly balanceBan: string; readonly frontier: string | null };
  /** In dry-run: the simulated balance settlement plans against, with nothing receivable and no frontier. */
  readonly chain: {
    readonly balanceRaw: string;
    readonly balanceBan: string;
    readonly receivableRaw: string;
    readonly receivableBan: string;
    readonly frontier: string | null;
  };
  readonly differences: readonly Difference[];
}

export function eventRef(event: RecordedEvent): EventRef {
  return { streamName: event.streamName, revision: Number(event.revision), type: event.type, eventId: event.id };
}

/** A payout as its user stream tells it, folded from the payout events alone. */
export interface PayoutRecord {
  readonly payoutId: string;
  readonly userId: string;
  /** Null when its PayoutRequested was not among the events read. */
  readonly gateway: PayoutGateway | null;
  /** The wallet address it is to be sent to (PayoutRequested); null as `gateway`. */
  readonly address: string | null;
  readonly status: 'requested' | 'sent' | 'failed' | 'cancelled';
  readonly sent: { readonly blockHash: string; readonly amountRaw: bigint; readonly event: EventRef } | null;
  /** Blocks an attempt was refused with (PayoutAttemptFailed.blockHash), each with its event. */
  readonly refusedBlocks: ReadonlyMap<string, EventRef>;
  /** Every payout event of it, in the order read. */
  readonly events: readonly EventRef[];
}

export const PAYOUT_EVENT_TYPES = [
  'PayoutRequested',
  'PayoutSent',
  'PayoutAttemptFailed',
  'PayoutFailed',
  'PayoutRetryRequested',
  'PayoutCancelled',
] as const;

/** Folds payout events of any number of user streams, in position order, into one record per payout. */
export function foldPayouts(events: readonly RecordedEvent[]): Map<string, PayoutRecord> {
  const payouts = new Map<string, PayoutRecord>();
  for (const recorded of events) {
    const event = decodeUserEvent(recorded.type, recorded.data);
    if (event === null) continue;
    const ref = eventRef(recorded);
    const change = (payoutId: string, userId: string, update: (payout: PayoutRecord) => Partial<PayoutRecord>): void => {
      const payout: PayoutRecord = payouts.get(payoutId) ?? {
        payoutId,
        userId,
        gateway: null,
        address: null,
        status: 'requested',
        sent: null,
        refusedBlocks: new Map(),
        events: [],
      };
      payouts.set(payoutId, { ...payout, ...update(payout), events: [...payout.events, ref] });
    };
    switch (event.type) {
      case 'PayoutRequested':
        change(event.data.payoutId, event.data.userId, () => ({ gateway: event.data.gateway, address: event.data.address, status: 'requested' }));
        break;
      case 'PayoutSent':
        // The user stream takes one PayoutSent per payout; should a second ever be read, the first stands.
        change(event.data.payoutId, event.data.userId, (payout) => ({
          status: 'sent',
          sent: payout.sent ?? { blockHash: event.data.blockHash.toUpperCase(), amountRaw: BigInt(event.data.amountRaw), event: ref },
        }));
        break;
      case 'PayoutAttemptFailed': {
        const blockHash = event.data.blockHash;
        change(event.data.payoutId, event.data.userId, (payout) =>
          blockHash === null ? {} : { refusedBlocks: new Map([...payout.refusedBlocks, [blockHash.toUpperCase(), ref]]) },
        );
        break;
      }
      case 'PayoutFailed':
        change(event.data.payoutId, event.data.userId, () => ({ status: 'failed' }));
        break;
      case 'PayoutRetryRequested':
        change(event.data.payoutId, event.data.userId, () => ({ status: 'requested' }));
        break;
      case 'PayoutCancelled':
        change(event.data.payoutId, event.data.userId, () => ({ status: 'cancelled' }));
        break;
      case 'UserRegistered':
      case 'EpicAccountLinked':
      case 'VerificationRecorded':
      case 'WalletLinked':
      case 'WalletVerified':
      case 'KillsObserved':
      case 'AccrualRecorded':
      case 'AbuseFlagRaised':
      case 'AbuseFlagCleared':
        break;
      default: {
        const unknownEvent: never = event;
        throw new Error(`unhandled user event ${JSON.stringify(unknownEvent)}`);
      }
    }
  }
  return payouts;
}

/** A DonationReceived or FundingReceived of the operator stream. */
export interface RecordedReceive {
  readonly sendHash: string;
  readonly receiveHash: string;
  /** The block it was signed on (64 zeros when it opens the account). */
  readonly previous: string;
  readonly sender: string;
  readonly amountRaw: bigint;
  readonly event: EventRef;
}

/** A PayoutBlockSigned of the operator stream. */
export interface RecordedPayoutBlock {
  readonly payoutId: string;
  readonly userId: string;
  readonly attempt: number;
  readonly blockHash: string;
  /** The block it was signed on. */
  readonly previous: string;
  readonly amountRaw: bigint;
  readonly event: EventRef;
}

/** Every block the operator stream recorded signing, in stream order. */
export type OperatorBlock = { readonly kind: 'receive'; readonly receive: RecordedReceive } | { readonly kind: 'payout'; readonly payout: RecordedPayoutBlock };

export interface LiveLedgerFacts {
  readonly blocks: readonly OperatorBlock[];
  /** The payouts of every user stream, from their payout events. */
  readonly payouts: ReadonlyMap<string, PayoutRecord>;
}

/** The node's view of the operator account, read so that the parts agree with one frontier. */
export interface ChainSnapshot {
  /** Null while the account is not opened. */
  readonly frontier: string | null;
  readonly balanceRaw: bigint;
  /** The sum of sends to the account not received yet (account_balance). */
  readonly receivableRaw: bigint;
  /** The whole chain, newest first, from `frontier` down to the opening block. */
  readonly history: readonly HistoryEntry[];
  /** The receivable sends, as many as were read. */
  readonly receivable: readonly ReceivableBlock[];
}

export interface Comparison {
  readonly ledgerBalanceRaw: bigint;
  readonly ledgerFrontier: string | null;
  readonly differences: readonly Difference[];
}

/**
 * Live: the ledger's operator wallet against the chain. The ledger balance is every recorded
 * receive (DonationReceived + FundingReceived) minus every payout whose user stream says
 * PayoutSent with a block this operator stream signed. Its frontier is the head of the chain the
 * recorded blocks make (ledgerFrontier), among the blocks it counts: any receive, and a payout
 * block only once its payout was sent with it.
 */
export function compareLive(ledger: LiveLedgerFacts, chain: ChainSnapshot): Comparison {
  const differences: Difference[] = [];
  const onChain = new Map(chain.history.map((entry) => [entry.hash, entry]));
  const chainReceiveOf = new Map(chain.history.filter((entry) => entry.type === 'receive').map((entry) => [entry.link, entry]));
  const stillReceivable = new Set(chain.receivable.map((send) => send.hash));
  const signedHashes = new Set<string>();
  const recordedSends = new Set<string>();
  let balanceRaw = 0n;
  const counted = new Set<string>();
  // A send block names no payout: one the node refused, on a frontier that did not move, is signed
  // again as the very same block by its payout's next attempt, or by the payout that claimed its
  // kills after a cancel. Each earlier signing ended with its refusal, so the block stands for the
  // signing recorded last (OperatorState.payoutOfBlock), and is counted and checked for that alone.
  const lastSigningOf = new Map<string, RecordedPayoutBlock>();
  for (const block of ledger.blocks) if (block.kind === 'payout') lastSigningOf.set(block.payout.blockHash, block.payout);

  for (const block of ledger.blocks) {
    if (block.kind === 'receive') {
      const { receive } = block;
      signedHashes.add(receive.receiveHash);
      recordedSends.add(receive.sendHash);
      balanceRaw += receive.amountRaw;
      counted.add(receive.receiveHash);
      const entry = onChain.get(receive.receiveHash);
      if (entry === undefined) {
        const elsewhere = chainReceiveOf.get(receive.sendHash);
        const why = elsewhere !== undefined
          ? `the chain received that send in block ${elsewhere.hash} instead`
          : stillReceivable.has(receive.sendHash)
            ? 'the send is still receivable: the node has not taken the receive (refused, or not published yet)'
            : 'the send is neither received on the chain nor receivable';
        differences.push({
          kind: 'recorded_receive_not_on_chain',
          message: `${receive.event.type} of ${ban(receive.amountRaw)} from ${receive.sender} (send ${receive.sendHash}) is counted, but its receive block is not on the chain; ${why}`,
          blockHash: receive.receiveHash,
          ...amount(receive.amountRaw),
          events: [receive.event],
        });
      } else if (entry.type !== 'receive' || entry.amountRaw !== receive.amountRaw) {
        differences.push({
          kind: 'amount_mismatch',
          message: `${receive.event.type} records a receive of ${ban(receive.amountRaw)}; the chain's block is a ${entry.type} of ${ban(entry.amountRaw)}`,
          blockHash: receive.receiveHash,
          ...amount(entry.amountRaw - receive.amountRaw),
          events: [receive.event],
        });
      }
      continue;
    }
    const signed = block.payout;
    signedHashes.add(signed.blockHash);
    const payout = ledger.payouts.get(signed.payoutId);
    const entry = onChain.get(signed.blockHash);
    // The signed block follows the payout's request (its first event) and precedes what became of it.
    const payoutEvents = payout === undefined ? [signed.event] : [...payout.events.slice(0, 1), signed.event, ...payout.events.slice(1)];
    if (lastSigningOf.get(signed.blockHash) !== signed && payout?.refusedBlocks.has(signed.blockHash) === true) continue;
    if (payout?.sent?.blockHash === signed.blockHash) {
      balanceRaw -= payout.sent.amountRaw;
      counted.add(signed.blockHash);
      if (entry === undefined) {
        differences.push({
          kind: 'payout_sent_not_on_chain',
          message: `payout ${signed.payoutId} of ${ban(payout.sent.amountRaw)} is PayoutSent with block ${signed.blockHash}, which is not on the chain`,
          blockHash: signed.blockHash,
          ...amount(payout.sent.amountRaw),
          events: payoutEvents,
        });
      } else if (entry.type !== 'send' || entry.amountRaw !== payout.sent.amountRaw) {
        differences.push({
          kind: 'amount_mismatch',
          message: `payout ${signed.payoutId} is PayoutSent for ${ban(payout.sent.amountRaw)}; the chain's block is a ${entry.type} of ${ban(entry.amountRaw)}`,
          blockHash: signed.blockHash,
          ...amount(entry.amountRaw - payout.sent.amountRaw),
          events: payoutEvents,
        });
      }
      const misdirected = entry === undefined ? null : destinationMismatch(signed, payout, entry, payoutEvents);
      if (misdirected !== null) differences.push(misdirected);
      continue;
    }
    // A block refused by the node and absent from the chain ended its attempt: nothing to say.
    if (payout?.refusedBlocks.has(signed.blockHash) === true && entry === undefined) continue;
    const state =
      payout === undefined
        ? 'has no payout events in any user stream'
        : payout.sent !== null
          ? `is PayoutSent with another block, ${payout.sent.blockHash}`
          : payout.refusedBlocks.has(signed.blockHash)
            ? 'recorded this block as refused'
            : `is ${payout.status}`;
    differences.push({
      kind: 'payout_signed_unconfirmed',
      message: `block ${signed.blockHash} of payout ${signed.payoutId} (attempt ${signed.attempt}, ${ban(signed.amountRaw)}) was signed, and the payout ${state}; the block is ${entry === undefined ? 'not on the chain' : 'on the chain'}`,
      blockHash: signed.blockHash,
      ...amount(signed.amountRaw),
      onChain: entry !== undefined,
      events: payoutEvents,
    });
    const misdirected = entry === undefined || payout === undefined ? null : destinationMismatch(signed, payout, entry, payoutEvents);
    if (misdirected !== null) differences.push(misdirected);
  }

  // A user stream may name a block the operator stream never signed: its events explain an unknown block.
  const sentWith = new Map<string, PayoutRecord>();
  for (const payout of ledger.payouts.values()) if (payout.sent !== null) sentWith.set(payout.sent.blockHash, payout);
  for (const entry of [...chain.history].reverse()) {
    // Epoch blocks are signed by the network's epoch signer, not the operator, and move nothing.
    if (signedHashes.has(entry.hash) || entry.type === 'epoch') continue;
    const named = sentWith.get(entry.hash);
    const counterpart = entry.account === null ? '' : entry.type === 'send' ? ` to ${entry.account}` : ` from ${entry.account}`;
    differences.push({
      kind: 'unknown_block',
      message:
        `the chain holds a ${entry.type} of ${ban(entry.amountRaw)}${counterpart} at height ${entry.height.toString()} that the operator stream never recorded signing` +
        (named === undefined ? '' : `; payout ${named.payoutId} is PayoutSent with it`) +
        (entry.type === 'receive' ? ' (an admin donations rebuild records missing receives)' : ''),
      blockHash: entry.hash,
      ...amount(entry.amountRaw),
      events: named?.events ?? [],
    });
  }

  for (const send of chain.receivable) {
    if (recordedSends.has(send.hash)) continue;
    differences.push({
      kind: 'receivable_not_pocketed',
      message: `a send of ${ban(send.amountRaw)} from ${send.source} is receivable and not recorded yet (the donation ingester pockets it on its next pass)`,
      blockHash: send.hash,
      ...amount(send.amountRaw),
      events: [],
    });
  }

  if (balanceRaw !== chain.balanceRaw) {
    const delta = chain.balanceRaw - balanceRaw;
    differences.push({
      kind: 'balance_mismatch',
      message: `the chain holds ${ban(chain.balanceRaw)}, the ledger counts ${ban(balanceRaw)}: ${ban(delta < 0n ? -delta : delta)} ${delta > 0n ? 'more' : 'less'} on the chain`,
      ...amount(delta),
      events: [],
    });
  }

  const frontier = ledgerFrontier(ledger.blocks, counted);
  const chainFrontier = chain.history.find((entry) => entry.type !== 'epoch')?.hash ?? null;
  if ((frontier?.hash ?? null) !== chainFrontier) {
    differences.push({
      kind: 'frontier_mismatch',
      message: `the head of the ledger's chain is ${frontier?.hash ?? 'none'}; the chain's is ${chainFrontier ?? 'none (the account is not opened)'}`,
      ...(chainFrontier === null ? {} : { blockHash: chainFrontier }),
      events: frontier === null ? [] : [frontier.event],
    });
  }
  return { ledgerBalanceRaw: balanceRaw, ledgerFrontier: frontier?.hash ?? null, differences };
}

/**
 * A payout block the chain holds as a send must go to the payout's recorded address. A send's
 * `link` is its destination's public key, which the block hash commits to; the recorded address
 * is compared by its key, so the prefix either side writes (ban_, nano_, xrb_) makes no difference.
 * Null when the send goes there, or when the block is no send (amount_mismatch says that) or the
 * payout's request was not read (no address to compare with).
 */
function destinationMismatch(signed: RecordedPayoutBlock, payout: PayoutRecord, entry: HistoryEntry, events: readonly EventRef[]): Difference | null {
  if (entry.type !== 'send' || payout.address === null) return null;
  const foundKey = entry.link.toUpperCase();
  if (accountPublicKey(payout.address) === foundKey) return null;
  return {
    kind: 'destination_mismatch',
    message: `payout ${signed.payoutId} is to ${payout.address}; its block on the chain is a send of ${ban(entry.amountRaw)} to ${bananoAddressOf(foundKey)}`,
    blockHash: signed.blockHash,
    ...amount(entry.amountRaw),
    events,
  };
}

/**
 * The head of the operator's chain as the ledger records it: of the `counted` blocks, the one
 * highest on the chain the recorded blocks make by their `previous`. Stream order is not chain
 * order: a donations rebuild appends receives that lie below blocks recorded before them, so the
 * block recorded last may be far down the chain. Heights are counted over every recorded block,
 * counted or not, so a block signed on a payout block whose PayoutSent is not read yet still
 * stands above it. Two blocks at one height are a fork the recorded blocks hold (a receive the
 * node refused beside the block signed after it on the same frontier): the one recorded later
 * stands, since a writer signs on a refused block's frontier again only after the refusal. Where
 * the recorded blocks leave a gap (a block on the chain that no event records, an unknown_block
 * of its own) heights above it count from the gap, the best the events can tell.
 */
export function ledgerFrontier(blocks: readonly OperatorBlock[], counted: ReadonlySet<string>): { readonly hash: string; readonly event: EventRef } | null {
  const recorded = blocks.map((block) =>
    block.kind === 'receive'
      ? { hash: block.receive.receiveHash, previous: block.receive.previous, event: block.receive.event }
      : { hash: block.payout.blockHash, previous: block.payout.previous, event: block.payout.event },
  );
  const previousOf = new Map<string, string>();
  for (const block of recorded) if (!previousOf.has(block.hash)) previousOf.set(block.hash, block.previous);
  const heightOf = new Map<string, number>();
  const height = (hash: string): number => {
    // Down to the first block whose height is known or whose previous no event records, then up.
    // A hash commits to its previous, so the links cannot loop; were they to, the loop counts from 0.
    const path: string[] = [];
    const onPath = new Set<string>();
    let below = 0;
    let at: string | undefined = hash;
    while (at !== undefined && previousOf.has(at) && !onPath.has(at)) {
      const known = heightOf.get(at);
      if (known !== undefined) {
        below = known;
        break;
      }
      path.push(at);
      onPath.add(at);
      at = previousOf.get(at);
    }
    for (const block of path.reverse()) {
      below += 1;
      heightOf.set(block, below);
    }
    return heightOf.get(hash) ?? 0;
  };
  let head: { readonly hash: string; readonly event: EventRef; readonly height: number } | null = null;
  for (const block of recorded) {
    if (!counted.has(block.hash)) continue;
    const at = height(block.hash);
    if (head === null || at >= head.height) head = { hash: block.hash, event: block.event, height: at };
  }
  return head === null ? null : { hash: head.hash, event: head.event };
}

/** The payouts read model as settlement reads it, at one committed checkpoint. */
export interface PayoutsReadModel {
  /** The payouts projection's checkpoint: the events up to it are applied. Null: none yet. */
  readonly position: bigint | null;
  /** Σ amount_raw of the rows with status `sent`, by the query settlement's simulated balance uses. */
  readonly sentRaw: bigint;
  readonly sentRows: ReadonlyArray<{ readonly payoutId: string; readonly gateway: string; readonly amountRaw: bigint }>;
}

/** A stopped projector leaves any number of events unapplied; a report names the first ones. */
const UNAPPLIED_EVENTS_LISTED_MAX = 100;

export interface DryRunFacts {
  /** BANANO_DRY_RUN_BALANCE_BAN, raw. */
  readonly startRaw: bigint;
  /** The payouts folded from the payout events up to the read model's position. */
  readonly payouts: ReadonlyMap<string, PayoutRecord>;
  /** Payout events after the read model's position, which it has not applied yet. */
  readonly unappliedEvents: readonly EventRef[];
  readonly readModel: PayoutsReadModel;
}

/**
 * Dry-run has no chain. What can drift is the simulated balance settlement plans against
 * (settlement-facts: BANANO_DRY_RUN_BALANCE_BAN minus the payouts the read model says are sent),
 * so that is compared with the same figure from the events: the start minus every PayoutSent of a
 * dry-run payout. Both are taken at the read model's checkpoint. Agreement proves that the payouts
 * projection counted each dry-run payout the user streams record as sent exactly once, with its
 * amount, and nothing else, so the next run's budget is what the events say it is. It proves
 * nothing about money on a chain: none moved.
 */
export function compareDryRun(facts: DryRunFacts): Comparison {
  const differences: Difference[] = [];
  let sentRaw = 0n;
  const rows = new Map(facts.readModel.sentRows.map((row) => [row.payoutId, row]));
  for (const payout of facts.payouts.values()) {
    if (payout.sent === null || payout.gateway !== 'dry-run') continue;
    sentRaw += payout.sent.amountRaw;
    const row = rows.get(payout.payoutId);
    if (row === undefined) {
      differences.push({
        kind: 'read_model_mismatch',
        message: `dry-run payout ${payout.payoutId} is PayoutSent for ${ban(payout.sent.amountRaw)}, but the payouts read model does not count it as sent`,
        ...amount(payout.sent.amountRaw),
        events: payout.events,
      });
    } else if (row.amountRaw !== payout.sent.amountRaw) {
      differences.push({
        kind: 'read_model_mismatch',
        message: `dry-run payout ${payout.payoutId} is PayoutSent for ${ban(payout.sent.amountRaw)}; the payouts read model counts ${ban(row.amountRaw)}`,
        ...amount(row.amountRaw - payout.sent.amountRaw),
        events: payout.events,
      });
    }
  }
  for (const row of facts.readModel.sentRows) {
    const payout = facts.payouts.get(row.payoutId);
    if (payout !== undefined && payout.sent !== null && payout.gateway === 'dry-run') continue;
    const why =
      payout === undefined
        ? 'no payout event of it was read'
        : payout.sent === null
          ? `its user stream says it is ${payout.status}`
          : `it is a ${payout.gateway ?? 'unknown'}-gateway payout, which no dry run sent`;
    differences.push({
      kind: 'read_model_mismatch',
      message: `the payouts read model counts payout ${row.payoutId} (${ban(row.amountRaw)}) as sent in the simulated balance, but ${why}`,
      ...amount(row.amountRaw),
      events: payout?.events ?? [],
    });
  }
  const ledgerBalanceRaw = facts.startRaw - sentRaw;
  const simulatedRaw = facts.startRaw - facts.readModel.sentRaw;
  if (ledgerBalanceRaw !== simulatedRaw) {
    const delta = simulatedRaw - ledgerBalanceRaw;
    differences.push({
      kind: 'balance_mismatch',
      message: `settlement simulates ${ban(simulatedRaw)}, the events say ${ban(ledgerBalanceRaw)}`,
      ...amount(delta),
      events: [],
    });
  }
  if (facts.unappliedEvents.length > 0) {
    const listed = facts.unappliedEvents.slice(0, UNAPPLIED_EVENTS_LISTED_MAX);
    differences.push({
      kind: 'read_model_behind',
      message:
        `the payouts read model is at position ${facts.readModel.position?.toString() ?? 'none'} and has not applied ${facts.unappliedEvents.length} payout event(s) after it` +
        `${listed.length < facts.unappliedEvents.length ? ` (the first ${listed.length} listed)` : ''}; both balances are as of that position`,
      events: listed,
    });
  }
  return { ledgerBalanceRaw, ledgerFrontier: null, differences };
}

function amount(raw: bigint): { amountRaw: string; amountBan: string } {
  return { amountRaw: raw.toString(), amountBan: formatBan(raw) };
}

function ban(raw: bigint): string {
  return `${formatBan(raw)} BAN`;
}
