import { type EventStore, type RecordedEvent } from '../../platform/event-store/event-store.port';
import { int, str, type StoredData } from '../../platform/event-store/stored-fields';
import { type StateBlock } from '../banano/state-block';

/** Bumped when an operator event's data changes shape; readers accept every version up to it. */
export const OPERATOR_EVENT_SCHEMA_VERSION = 1;

/** The stream of one operator account: what it signed, received and reached (SPEC §3). */
export function operatorStream(address: string): string {
  return `operator-${address}`;
}

/**
 * A send block of a payout, signed and with its work, recorded before it is published (SPEC §4.4
 * step 2). It is the executor's memory across crashes: a payout whose current attempt has a signed
 * block only ever publishes that block again.
 */
export interface PayoutBlockSigned {
  readonly type: 'PayoutBlockSigned';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    /** The payout's attempt this block belongs to (1 for the first). */
    readonly attempt: number;
    readonly blockHash: string;
    readonly previous: string;
    readonly destination: string;
    readonly amountRaw: string;
    readonly block: StateBlock;
    readonly signedAt: string;
  };
}

/** The fields of a receive the ingester signed, recorded before it is published (SPEC §4.5). */
export type ReceiveRecordedData = {
  /** The send block being received: the key of the record, so a send is counted at most once. */
  readonly sendHash: string;
  /** The account that sent it. */
  readonly sender: string;
  readonly amountRaw: string;
  /** The hash of the receive block below. */
  readonly receiveHash: string;
  /** The frontier it was signed on, or 64 zeros when it opens the operator account. */
  readonly previous: string;
  readonly block: StateBlock;
  readonly receivedAt: string;
  /**
   * In a FundingReceived, when the send is a payout block an operator account signed (a payout to
   * a player whose wallet is an operator account, come back to the operator): that payout. The
   * read models then count it as funding, not as a transfer between the operator's accounts.
   * Absent otherwise, and in records made before it was kept.
   */
  readonly returnedPayoutId?: string;
};

/** A donation to the operator account: counted once per send block, by its hash (SPEC §4.5). */
export interface DonationReceived {
  readonly type: 'DonationReceived';
  readonly data: ReceiveRecordedData;
}

/** A send from one of `treasury.fundingAddresses`, or from the operator account itself: operator funding, not a donation. */
export interface FundingReceived {
  readonly type: 'FundingReceived';
  readonly data: ReceiveRecordedData;
}

/**
 * The total donated first reached a milestone tier (SPEC §4.5). Appended once per tier, in the same
 * append as the donation that took the total there, so it can neither be missed nor repeated.
 */
export interface MilestoneReached {
  readonly type: 'MilestoneReached';
  readonly data: {
    readonly thresholdRaw: string;
    readonly multiplier: string;
    readonly name: string;
    /** The total donated with the donation below, which reached the tier. */
    readonly totalDonatedRaw: string;
    /** The send block of that donation. */
    readonly sendHash: string;
    readonly reachedAt: string;
  };
}

export type OperatorEvent = PayoutBlockSigned | DonationReceived | FundingReceived | MilestoneReached;

export interface SignedPayoutBlock {
  readonly payoutId: string;
  readonly userId: string;
  readonly attempt: number;
  readonly blockHash: string;
  readonly block: StateBlock;
}

/** The receive block that currently stands for a recorded send. */
export interface SignedReceiveBlock {
  readonly sendHash: string;
  readonly receiveHash: string;
  readonly block: StateBlock;
}

/** Any block the operator signed: both kinds move its frontier, so only one may be in flight. */
export type SignedOperatorBlock = ({ readonly kind: 'payout' } & SignedPayoutBlock) | ({ readonly kind: 'receive' } & SignedReceiveBlock);

/** The hash of a block the operator signed, of either kind. */
export function signedBlockHash(block: SignedOperatorBlock): string {
  return block.kind === 'payout' ? block.blockHash : block.receiveHash;
}

export interface OperatorState {
  /** The stream's revision, for the expected revision of the next append; null: no stream yet. */
  readonly revision: bigint | null;
  /** The payout block signed last. The executor resolves it before it signs another (one at a time). */
  readonly lastSigned: SignedPayoutBlock | null;
  /**
   * The block signed last, of either kind. A receive recorded but maybe not published is in flight
   * as much as a payout block: it is resolved before anything else is signed on the frontier.
   */
  readonly lastSignedBlock: SignedOperatorBlock | null;
  /**
   * The blocks signed last, of either kind, oldest first: at most RECENT_BLOCKS_KEPT. Among them
   * newestLandedBlock looks for the newest one on the chain, which the node's frontier must not be
   * behind (frontier-checks).
   */
  readonly recentBlocks: readonly SignedOperatorBlock[];
  /** Every block signed for each payout, oldest first. */
  readonly signedByPayout: ReadonlyMap<string, readonly SignedPayoutBlock[]>;
  /**
   * The payout each payout block stands for, by block hash: the payout it was signed for last. A
   * send block names no payout, so two payouts of one amount to one address on one frontier are
   * the same block. Each attempt that signed it ended (refused) before another payout signed it
   * again, so a copy of it on the chain pays the payout that signed it last, and only that one.
   */
  readonly payoutOfBlock: ReadonlyMap<string, string>;
  /** Every send block already recorded (donation or funding), with the receive that stands for it now. */
  readonly receivedSends: ReadonlyMap<string, SignedReceiveBlock>;
  /** The sum of every DonationReceived. */
  readonly donatedRaw: bigint;
  /** The thresholds of every MilestoneReached. */
  readonly milestonesReachedRaw: ReadonlySet<bigint>;
}

/** How many of the blocks signed last OperatorState keeps in order. */
export const RECENT_BLOCKS_KEPT = 8;

export const emptyOperatorState: OperatorState = {
  revision: null,
  lastSigned: null,
  lastSignedBlock: null,
  recentBlocks: [],
  signedByPayout: new Map(),
  payoutOfBlock: new Map(),
  receivedSends: new Map(),
  donatedRaw: 0n,
  milestonesReachedRaw: new Set(),
};

/**
 * Folds events of the operator stream onto `state` (the events that follow it); event types it
 * does not know only move the revision.
 */
export function foldOperator(events: readonly RecordedEvent[], state: OperatorState = emptyOperatorState): OperatorState {
  let { lastSigned, lastSignedBlock, donatedRaw } = state;
  const signedByPayout = new Map(state.signedByPayout);
  const payoutOfBlock = new Map(state.payoutOfBlock);
  const receivedSends = new Map(state.receivedSends);
  const milestonesReachedRaw = new Set(state.milestonesReachedRaw);
  const recentBlocks = [...state.recentBlocks];
  for (const recorded of events) {
    const event = decodeOperatorEvent(recorded.type, recorded.data);
    if (event === null) continue;
    switch (event.type) {
      case 'PayoutBlockSigned': {
        const signed: SignedPayoutBlock = {
          payoutId: event.data.payoutId,
          userId: event.data.userId,
          attempt: event.data.attempt,
          blockHash: event.data.blockHash,
          block: event.data.block,
        };
        lastSigned = signed;
        lastSignedBlock = { kind: 'payout', ...signed };
        recentBlocks.push(lastSignedBlock);
        signedByPayout.set(signed.payoutId, [...(signedByPayout.get(signed.payoutId) ?? []), signed]);
        payoutOfBlock.set(signed.blockHash, signed.payoutId);
        break;
      }
      case 'DonationReceived':
      case 'FundingReceived': {
        // A second record of one send is never written (the event id is the send hash, and the
        // append states the revision it read).
        const signed: SignedReceiveBlock = { sendHash: event.data.sendHash, receiveHash: event.data.receiveHash, block: event.data.block };
        lastSignedBlock = { kind: 'receive', ...signed };
        recentBlocks.push(lastSignedBlock);
        receivedSends.set(signed.sendHash, signed);
        if (event.type === 'DonationReceived') donatedRaw += BigInt(event.data.amountRaw);
        break;
      }
      case 'MilestoneReached':
        milestonesReachedRaw.add(BigInt(event.data.thresholdRaw));
        break;
      default: {
        const unknownEvent: never = event;
        throw new Error(`unhandled operator event ${JSON.stringify(unknownEvent)}`);
      }
    }
  }
  return {
    revision: events.at(-1)?.revision ?? state.revision,
    lastSigned,
    lastSignedBlock,
    recentBlocks: recentBlocks.slice(-RECENT_BLOCKS_KEPT),
    signedByPayout,
    payoutOfBlock,
    receivedSends,
    donatedRaw,
    milestonesReachedRaw,
  };
}

/**
 * The operator stream folded up to its end, for one writer. The fold is kept between calls and
 * only the events after it are read, so a long stream is not read again for every block.
 */
export class OperatorStreamReader {
  private cached: { readonly address: string; readonly state: OperatorState } | null = null;

  constructor(private readonly store: EventStore) {}

  async load(address: string): Promise<OperatorState> {
    const state = this.cached?.address === address ? this.cached.state : emptyOperatorState;
    const fromRevision = state.revision === null ? 0n : state.revision + 1n;
    const next = foldOperator(await this.store.readStream(operatorStream(address), { fromRevision }), state);
    this.cached = { address, state: next };
    return next;
  }
}

type Data = StoredData;

export function decodeOperatorEvent(type: string, data: Data): OperatorEvent | null {
  switch (type) {
    case 'PayoutBlockSigned':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          attempt: int(data, 'attempt'),
          blockHash: str(data, 'blockHash'),
          previous: str(data, 'previous'),
          destination: str(data, 'destination'),
          amountRaw: str(data, 'amountRaw'),
          block: stateBlock(data),
          signedAt: str(data, 'signedAt'),
        },
      };
    case 'DonationReceived':
    case 'FundingReceived':
      return {
        type,
        data: {
          sendHash: str(data, 'sendHash'),
          sender: str(data, 'sender'),
          amountRaw: str(data, 'amountRaw'),
          receiveHash: str(data, 'receiveHash'),
          previous: str(data, 'previous'),
          block: stateBlock(data),
          receivedAt: str(data, 'receivedAt'),
          ...(typeof data.returnedPayoutId === 'string' ? { returnedPayoutId: data.returnedPayoutId } : {}),
        },
      };
    case 'MilestoneReached':
      return {
        type,
        data: {
          thresholdRaw: str(data, 'thresholdRaw'),
          multiplier: str(data, 'multiplier'),
          name: str(data, 'name'),
          totalDonatedRaw: str(data, 'totalDonatedRaw'),
          sendHash: str(data, 'sendHash'),
          reachedAt: str(data, 'reachedAt'),
        },
      };
    default:
      return null;
  }
}

function stateBlock(data: Data): StateBlock {
  const block = (data.block ?? {}) as Data;
  return {
    type: 'state',
    account: str(block, 'account'),
    previous: str(block, 'previous'),
    representative: str(block, 'representative'),
    balance: str(block, 'balance'),
    link: str(block, 'link'),
    signature: str(block, 'signature'),
    work: str(block, 'work'),
  };
}
